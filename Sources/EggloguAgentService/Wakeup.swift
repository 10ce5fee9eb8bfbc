import Synchronization

/// Why the sync loop wakes.
enum WakeReason: Sendable, Hashable {
    /// Something to pull: start, a (re)connect, a notice.
    case sync
    /// A local write to push (grouped with the writes that follow within the push debounce).
    case push
    /// The schedule changed (the broker went away): recompute the next poll, do not sync now.
    case reschedule
    /// Graceful shutdown (or cancellation).
    case shutdown
}

/// A coalescing signal between the parts of the service and the sync loop: however many
/// signals arrive while a sync runs, one more sync follows ("one in flight, one queued").
/// Waiting costs nothing but a timer: no loop spins.
final class Wakeup: Sendable {
    private struct State {
        var pending: Set<WakeReason> = []
        var waiter: CheckedContinuation<WakeReason?, Never>?
        var timer: Task<Void, Never>?
        var generation = 0
        /// Reasons the current waiter does not wake for: they stay pending for its next cycle.
        var deferred: Set<WakeReason> = []
    }

    private let state = Mutex(State())

    func signal(_ reason: WakeReason) {
        let (waiter, timer) = state.withLock { state -> (CheckedContinuation<WakeReason?, Never>?, Task<Void, Never>?) in
            state.pending.insert(reason)
            if state.deferred.contains(reason) { return (nil, nil) }
            defer {
                state.waiter = nil
                state.timer = nil
            }
            return (state.waiter, state.timer)
        }
        timer?.cancel()
        waiter?.resume(returning: takePending())
    }

    /// The most urgent pending reason, or nil once `clock` reached `deadline` without one.
    ///
    /// - Parameter deferring: reasons that do not end this wait; they stay pending and are served
    ///   by the cycle that follows it.
    func wait<C: Clock<Duration>>(until deadline: C.Instant, on clock: C, deferring: Set<WakeReason> = []) async -> WakeReason? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WakeReason?, Never>) in
                let generation: Int? = state.withLock { state in
                    state.deferred = deferring
                    guard state.pending.subtracting(deferring).isEmpty else { return nil }
                    state.generation += 1
                    state.waiter = continuation
                    return state.generation
                }
                guard let generation else {
                    continuation.resume(returning: takePending())
                    return
                }
                let timer = Task { [weak self] in
                    do { try await clock.sleep(until: deadline, tolerance: nil) } catch { return }
                    self?.expire(generation)
                }
                state.withLock { state in
                    if state.generation == generation && state.waiter != nil { state.timer = timer } else { timer.cancel() }
                }
            }
        } onCancel: {
            signal(.shutdown)
        }
    }

    private func expire(_ generation: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<WakeReason?, Never>? in
            guard state.generation == generation else { return nil }
            defer {
                state.waiter = nil
                state.timer = nil
            }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    private func takePending() -> WakeReason? {
        state.withLock { state in
            for reason in [WakeReason.shutdown, .push, .sync, .reschedule] where state.pending.contains(reason) {
                state.pending.remove(reason)
                if reason == .push { state.pending.remove(.sync) }  // one cycle pushes and pulls
                return reason
            }
            return nil
        }
    }
}

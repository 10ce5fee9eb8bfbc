// CEggloguSQLite exists because sqlite3_db_config() is variadic, which Swift cannot call; it wraps
// the one option the store sets.
#ifndef C_EGGLOGU_SQLITE_H
#define C_EGGLOGU_SQLITE_H

#include <sqlite3.h>

/// Stops `db` from checkpointing the WAL when it closes as the last connection (the WAL stays,
/// durable, and is read back on the next open). Returns an SQLite result code.
int c_egglogu_sqlite_skip_checkpoint_on_close(sqlite3 *db);

#endif

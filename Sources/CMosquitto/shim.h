// CMosquitto exposes the system's libmosquitto (libmosquitto-dev) to Swift; it adds nothing of its own.
#ifndef C_MOSQUITTO_SHIM_H
#define C_MOSQUITTO_SHIM_H

#include <mosquitto.h>

#endif

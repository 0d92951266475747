/* Device discovery and selection for the device module (fm_device_list is public in
 * fmcl/device.h). Internal. */
#ifndef FMCL_DEVICE_LIST_H
#define FMCL_DEVICE_LIST_H

#include <stddef.h>

#include "fmcl/device.h"

/* What to install when the loader finds no platform. */
extern const char *const fm_device_install_advice;

/* Fills what the selection leaves open from FMCL_DEVICE and FMCL_GEMM (fm_device_open). */
fm_status fm_device_apply_environment(fm_device_select *sel);

/* The position in list of the selected device, or -1 when none matches. */
int fm_device_choose(const fm_device_info *list, int count, const fm_device_select *sel);

/* "0: name (type), 1: ..." of the devices found, for messages. */
void fm_device_describe(const fm_device_info *list, int count, char *out, size_t size);

#endif

#ifndef CCRC32C_H
#define CCRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Extends a CRC32C (Castagnoli) over `length` bytes. Start with `crc = 0`.
/// Uses the SSE4.2 / ARMv8 CRC instructions when the CPU has them, a table otherwise.
uint32_t csvstorm_crc32c_update(uint32_t crc, const void *data, size_t length);

/// 1 when the hardware path is in use.
int csvstorm_crc32c_hardware(void);

#ifdef __cplusplus
}
#endif

#endif

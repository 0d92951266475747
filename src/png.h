/* PNG encoding of 8-bit RGB images with a deflate compressor of our own (LZ77 over hash
 * chains, fixed Huffman codes, stored blocks where those come out smaller), so fmcl writes
 * its plots with no zlib or libpng. Internal: the public face is fm_image_write_png. */
#ifndef FMCL_PNG_H
#define FMCL_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "fmcl/status.h"

/* Encodes rgb (height, width, 3), rows top to bottom, as a whole PNG file in a malloc'd
 * buffer *png of *size bytes (free it with free). */
fm_status fm_png_encode(const uint8_t *rgb, int width, int height, uint8_t **png, size_t *size);

/* A zlib stream (RFC 1950) of data: header, deflate blocks (RFC 1951), Adler-32. */
fm_status fm_zlib_compress(const uint8_t *data, size_t n, uint8_t **out, size_t *out_size);

/* Adler-32 of the zlib trailer, continuing from adler (1 to start). Chunk CRCs use
 * fm_crc32 of fileio.h. */
uint32_t fm_adler32(uint32_t adler, const uint8_t *p, size_t n);

#endif

/* PNG encoder: rows filtered as libpng's heuristic picks (least sum of absolute bytes),
 * one zlib stream compressed by greedy LZ77 with one-step lazy matching over hash chains,
 * each ~64 KiB block coded with the fixed Huffman codes or stored, whichever is shorter.
 * Plots are mostly flat colour, which long matches at distance 3 (a pixel) or one row
 * make small without the dynamic codes. */
#include "png.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "internal.h"

/* ---- Checksums ---- */

uint32_t fm_adler32(uint32_t adler, const uint8_t *p, size_t n) {
  uint32_t a = adler & 0xFFFF, b = adler >> 16;
  while (n > 0) {
    size_t k = n < 5552 ? n : 5552; /* the most bytes before b can overflow 32 bits */
    n -= k;
    while (k--) a += *p++, b += a;
    a %= 65521, b %= 65521;
  }
  return b << 16 | a;
}

/* ---- Deflate ---- */

enum {
  WINDOW = 32768,       /* the farthest a match may reach back */
  MIN_MATCH = 3,
  MAX_MATCH = 258,
  HASH_BITS = 15,
  MAX_CHAIN = 64,       /* candidates tried per position */
  LAZY_LIMIT = 32,      /* a match this long is taken without looking one byte ahead */
  BLOCK_INPUT = 1 << 16 /* input bytes per block (one token each at most) */
};

static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,
                                      15, 17, 19, 23, 27, 31, 35, 43, 51,  59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,
                                       17,   25,   33,   49,   65,   97,    129,   193,
                                       257,  385,  513,  769,  1025, 1537,  2049,  3073,
                                       4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* A literal (len 0, the byte in dist) or a match of len bytes dist back. */
typedef struct token {
  uint16_t len, dist;
} token;

static int len_code(int len) {
  int c = 28;
  while (len_base[c] > len) c--;
  return c;
}

static int dist_code(int dist) {
  int c = 29;
  while (dist_base[c] > dist) c--;
  return c;
}

/* The fixed literal/length code of symbol s (RFC 1951, 3.2.6). */
static void fixed_code(int s, uint32_t *code, int *len) {
  if (s < 144) *code = (uint32_t)(0x30 + s), *len = 8;
  else if (s < 256) *code = (uint32_t)(0x190 + s - 144), *len = 9;
  else if (s < 280) *code = (uint32_t)(s - 256), *len = 7;
  else *code = (uint32_t)(0xC0 + s - 280), *len = 8;
}

static size_t token_bits(token t) {
  uint32_t code;
  int len;
  if (t.len == 0) {
    fixed_code(t.dist, &code, &len);
    return (size_t)len;
  }
  int lc = len_code(t.len), dc = dist_code(t.dist);
  fixed_code(257 + lc, &code, &len);
  return (size_t)(len + len_extra[lc] + 5 + dist_extra[dc]);
}

/* Bits are packed from the least significant end of each byte. */
typedef struct bits {
  uint8_t *p;
  size_t n, cap;
  uint64_t acc;
  int count;
} bits;

static void bits_put(bits *b, uint32_t v, int n) {
  b->acc |= (uint64_t)v << b->count;
  b->count += n;
  while (b->count >= 8) {
    FM_ASSERT(b->n < b->cap);
    b->p[b->n++] = (uint8_t)b->acc;
    b->acc >>= 8;
    b->count -= 8;
  }
}

static void bits_align(bits *b) {
  if (b->count > 0) bits_put(b, 0, 8 - b->count);
}

/* Huffman codes go out most significant bit first. */
static void bits_code(bits *b, uint32_t code, int len) {
  uint32_t r = 0;
  for (int i = 0; i < len; i++) r |= ((code >> i) & 1u) << (len - 1 - i);
  bits_put(b, r, len);
}

static void emit_fixed(bits *b, const token *tok, size_t ntok, int final) {
  uint32_t code;
  int len;
  bits_put(b, (uint32_t)final, 1);
  bits_put(b, 1, 2); /* BTYPE 01: fixed codes */
  for (size_t i = 0; i < ntok; i++) {
    token t = tok[i];
    if (t.len == 0) {
      fixed_code(t.dist, &code, &len);
      bits_code(b, code, len);
      continue;
    }
    int lc = len_code(t.len), dc = dist_code(t.dist);
    fixed_code(257 + lc, &code, &len);
    bits_code(b, code, len);
    bits_put(b, (uint32_t)(t.len - len_base[lc]), len_extra[lc]);
    bits_code(b, (uint32_t)dc, 5);
    bits_put(b, (uint32_t)(t.dist - dist_base[dc]), dist_extra[dc]);
  }
  fixed_code(256, &code, &len); /* end of block */
  bits_code(b, code, len);
}

static void emit_stored(bits *b, const uint8_t *data, size_t n, int final) {
  do {
    size_t k = n < 65535 ? n : 65535;
    bits_put(b, (uint32_t)(final && k == n), 1);
    bits_put(b, 0, 2); /* BTYPE 00: stored */
    bits_align(b);
    uint8_t head[4] = {(uint8_t)k, (uint8_t)(k >> 8), (uint8_t)~k, (uint8_t)(~k >> 8)};
    FM_ASSERT(b->n + 4 + k <= b->cap);
    memcpy(b->p + b->n, head, 4);
    memcpy(b->p + b->n + 4, data, k);
    b->n += 4 + k;
    data += k, n -= k;
  } while (n > 0);
}

static size_t stored_bits(size_t n) {
  size_t blocks = n / 65535 + (n % 65535 != 0 || n == 0);
  return (n + 5 * blocks) * 8 + 7;
}

/* Hash chains over the last WINDOW positions: head[h] is the latest position whose next
 * three bytes hash to h, prev[pos % WINDOW] the one before it. */
typedef struct matcher {
  const uint8_t *data;
  size_t n;
  int32_t *head; /* (1 << HASH_BITS) */
  int32_t *prev; /* (WINDOW) */
} matcher;

static uint32_t hash3(const uint8_t *p) {
  uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
  return (v * 2654435761u) >> (32 - HASH_BITS);
}

static void insert(matcher *m, size_t pos) {
  if (pos + MIN_MATCH > m->n) return;
  uint32_t h = hash3(m->data + pos);
  m->prev[pos & (WINDOW - 1)] = m->head[h];
  m->head[h] = (int32_t)pos;
}

/* The longest match for pos among earlier positions (0 when shorter than MIN_MATCH). */
static int find(const matcher *m, size_t pos, int *dist) {
  if (pos + MIN_MATCH > m->n) return 0;
  size_t max = m->n - pos < MAX_MATCH ? m->n - pos : MAX_MATCH;
  const uint8_t *p = m->data + pos;
  int32_t cand = m->head[hash3(p)];
  size_t best = 0;
  for (int chain = 0; cand >= 0 && chain < MAX_CHAIN; chain++) {
    size_t d = pos - (size_t)cand;
    if (d > WINDOW) break; /* farther ones are older still, and their links are reused */
    const uint8_t *q = m->data + cand;
    if (q[best] == p[best]) {
      size_t len = 0;
      while (len < max && q[len] == p[len]) len++;
      /* A 3-byte match far back costs about what three literals do. */
      if (len > best && !(len == MIN_MATCH && d > 4096)) {
        best = len, *dist = (int)d;
        if (len == max) break;
      }
    }
    int32_t next = m->prev[cand & (WINDOW - 1)];
    if (next >= cand) break;
    cand = next;
  }
  return best >= MIN_MATCH ? (int)best : 0;
}

fm_status fm_zlib_compress(const uint8_t *data, size_t n, uint8_t **out, size_t *out_size) {
  *out = NULL;
  *out_size = 0;
  if (n >= INT32_MAX - MAX_MATCH)
    return fm_fail(FM_ERR_INVALID, "zlib: %zu bytes is more than this encoder takes (2 GiB)", n);
  /* Every block is at most its stored size: the data plus 5 bytes per 64 KiB, a byte of
   * alignment per block, and 6 bytes of zlib header and checksum. */
  bits b = {NULL, 0, n + 12 * (n / 65535 + 2) + 16, 0, 0};
  token *tok = malloc(BLOCK_INPUT * sizeof *tok);
  int32_t *head = malloc(((size_t)1 << HASH_BITS) * sizeof *head);
  int32_t *prev = malloc(WINDOW * sizeof *prev);
  b.p = malloc(b.cap);
  if (!tok || !head || !prev || !b.p) {
    free(tok), free(head), free(prev), free(b.p);
    return fm_fail(FM_ERR_NOMEM, "zlib: out of host memory compressing %zu bytes", n);
  }
  memset(head, 0xFF, ((size_t)1 << HASH_BITS) * sizeof *head); /* -1: no position */
  matcher m = {data, n, head, prev};

  b.p[b.n++] = 0x78; /* deflate, 32 KiB window */
  b.p[b.n++] = 0x01; /* no dictionary, (0x78 << 8 | 0x01) % 31 == 0 */
  size_t pos = 0;
  int pending = 0, pending_len = 0, pending_dist = 0; /* a match found by looking ahead */
  do {
    size_t start = pos, ntok = 0, cost = 3 + 7;
    while (pos < n && pos - start < BLOCK_INPUT) {
      int len, dist = 0;
      if (pending) len = pending_len, dist = pending_dist, pending = 0;
      else len = find(&m, pos, &dist);
      token t = {0, data[pos]};
      if (len >= MIN_MATCH && len < LAZY_LIMIT) {
        /* Lazy: a longer match one byte on beats this one; take a literal instead. */
        int dist2 = 0, len2;
        insert(&m, pos);
        len2 = find(&m, pos + 1, &dist2);
        if (len2 > len) {
          pending = 1, pending_len = len2, pending_dist = dist2;
          tok[ntok++] = t, cost += token_bits(t), pos++;
          continue;
        }
        for (int k = 1; k < len; k++) insert(&m, pos + (size_t)k);
        t.len = (uint16_t)len, t.dist = (uint16_t)dist;
      } else if (len >= MIN_MATCH) {
        for (int k = 0; k < len; k++) insert(&m, pos + (size_t)k);
        t.len = (uint16_t)len, t.dist = (uint16_t)dist;
      } else {
        insert(&m, pos);
        len = 1;
      }
      tok[ntok++] = t, cost += token_bits(t), pos += (size_t)len;
    }
    /* A pending match carries over into the next block: matches may reach back across
     * blocks, stored ones too. */
    int final = pos == n;
    if (cost < stored_bits(pos - start)) emit_fixed(&b, tok, ntok, final);
    else emit_stored(&b, data + start, pos - start, final);
  } while (pos < n);
  bits_align(&b);
  uint32_t adler = fm_adler32(1, data, n);
  FM_ASSERT(b.n + 4 <= b.cap);
  for (int i = 3; i >= 0; i--) b.p[b.n++] = (uint8_t)(adler >> (8 * i));
  free(tok), free(head), free(prev);
  *out = b.p;
  *out_size = b.n;
  return FM_OK;
}

/* ---- PNG ---- */

static int paeth(int a, int b, int c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Filters one row of len bytes (3 per pixel) with each of the five PNG filters and keeps
 * the one whose bytes, read as signed, sum smallest in magnitude. out[0] is the type. */
static void filter_row(const uint8_t *row, const uint8_t *up, size_t len, uint8_t *out,
                       uint8_t *trial) {
  long best_sum = -1;
  for (int f = 0; f < 5; f++) {
    long sum = 0;
    for (size_t i = 0; i < len; i++) {
      int a = i >= 3 ? row[i - 3] : 0, b = up ? up[i] : 0, c = i >= 3 && up ? up[i - 3] : 0;
      int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : paeth(a, b, c);
      uint8_t v = (uint8_t)(row[i] - pred);
      trial[i] = v;
      sum += v < 128 ? v : 256 - v;
    }
    if (best_sum < 0 || sum < best_sum) {
      best_sum = sum;
      out[0] = (uint8_t)f;
      memcpy(out + 1, trial, len);
    }
  }
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Writes a chunk at p: length, type, data, CRC of type and data; returns its end. */
static uint8_t *put_chunk(uint8_t *p, const char type[4], const uint8_t *data, size_t n) {
  put_be32(p, (uint32_t)n);
  memcpy(p + 4, type, 4);
  if (n) memcpy(p + 8, data, n);
  put_be32(p + 8 + n, fm_crc32(0, p + 4, n + 4));
  return p + 12 + n;
}

fm_status fm_png_encode(const uint8_t *rgb, int width, int height, uint8_t **png, size_t *size) {
  *png = NULL;
  *size = 0;
  if (width <= 0 || height <= 0 || (double)width * height * 3 > (double)(INT32_MAX / 2))
    return fm_fail(FM_ERR_INVALID, "PNG: cannot encode a %d x %d image; the size must be "
                   "positive and under 700 megapixels", width, height);
  size_t stride = (size_t)width * 3, raw_n = (stride + 1) * (size_t)height;
  uint8_t *raw = malloc(raw_n), *trial = malloc(stride);
  if (!raw || !trial) {
    free(raw), free(trial);
    return fm_fail(FM_ERR_NOMEM, "PNG: out of host memory for a %d x %d image", width, height);
  }
  for (int y = 0; y < height; y++) {
    const uint8_t *row = rgb + (size_t)y * stride;
    filter_row(row, y ? row - stride : NULL, stride, raw + (size_t)y * (stride + 1), trial);
  }
  free(trial);
  uint8_t *z = NULL;
  size_t zn = 0;
  fm_status st = fm_zlib_compress(raw, raw_n, &z, &zn);
  free(raw);
  if (st != FM_OK) return st;

  static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  uint8_t ihdr[13] = {0};
  put_be32(ihdr, (uint32_t)width);
  put_be32(ihdr + 4, (uint32_t)height);
  ihdr[8] = 8; /* bits per sample */
  ihdr[9] = 2; /* colour type: RGB; compression, filter method, interlace: 0 */
  size_t total = 8 + (12 + 13) + (12 + zn) + 12;
  uint8_t *out = malloc(total);
  if (!out) {
    free(z);
    return fm_fail(FM_ERR_NOMEM, "PNG: out of host memory for a %zu-byte file", total);
  }
  memcpy(out, signature, 8);
  uint8_t *p = put_chunk(out + 8, "IHDR", ihdr, 13);
  p = put_chunk(p, "IDAT", z, zn);
  p = put_chunk(p, "IEND", NULL, 0);
  FM_ASSERT((size_t)(p - out) == total);
  free(z);
  *png = out;
  *size = total;
  return FM_OK;
}

/* Plots: the PNG encoder checked by an inflater and a chunk parser of the test's own (CRC,
 * Adler-32, pixels exactly), its compression, the font, ticks and labels, and plots that
 * colour the pixels their data says, refuse bad input and leave no file when a write fails. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmcl/plot.h"
#include "png.h"
#include "support.h"

#define FM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PATH_COLOR 0x6BAED6u /* what trajectory lines are drawn in */

/* ---- An independent decoder ---- */

static uint32_t crc32_bitwise(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

static uint32_t adler32_plain(const uint8_t *p, size_t n) {
  uint32_t a = 1, b = 0;
  for (size_t i = 0; i < n; i++) a = (a + p[i]) % 65521, b = (b + a) % 65521;
  return b << 16 | a;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct inflater {
  const uint8_t *in;
  size_t n, pos; /* pos counts bits */
  uint8_t *out;
  size_t out_n, out_cap;
  int blocks[4]; /* blocks seen by type */
} inflater;

static int bit(inflater *s) {
  ck_assert_msg(s->pos / 8 < s->n, "deflate stream ends early");
  int b = (s->in[s->pos / 8] >> (s->pos % 8)) & 1;
  s->pos++;
  return b;
}

static int bits(inflater *s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) v |= bit(s) << i;
  return v;
}

static void emit(inflater *s, uint8_t b) {
  if (s->out_n == s->out_cap) {
    s->out_cap = s->out_cap ? 2 * s->out_cap : 4096;
    s->out = realloc(s->out, s->out_cap);
    ck_assert(s->out);
  }
  s->out[s->out_n++] = b;
}

/* Canonical Huffman decoding from code lengths (as zlib's puff does it). */
typedef struct huffman {
  short count[16], symbol[288];
} huffman;

static void huffman_build(huffman *h, const uint8_t *len, int n) {
  short offs[16];
  memset(h->count, 0, sizeof h->count);
  for (int i = 0; i < n; i++) h->count[len[i]]++;
  h->count[0] = 0;
  offs[1] = 0;
  for (int l = 1; l < 15; l++) offs[l + 1] = offs[l] + h->count[l];
  for (int i = 0; i < n; i++)
    if (len[i]) h->symbol[offs[len[i]]++] = (short)i;
}

static int huffman_decode(inflater *s, const huffman *h) {
  int code = 0, first = 0, index = 0;
  for (int l = 1; l < 16; l++) {
    code |= bit(s);
    int count = h->count[l];
    if (code - count < first) return h->symbol[index + (code - first)];
    index += count, first += count;
    first <<= 1, code <<= 1;
  }
  ck_abort_msg("invalid Huffman code at bit %zu", s->pos);
  return -1;
}

static const short len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27,
                                   31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const short len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                    2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const short dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129,
                                    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
                                    6145, 8193, 12289, 16385, 24577};
static const short dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
                                     6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* Inflates a whole zlib stream: header, stored and fixed blocks (the encoder emits no
 * dynamic ones, so meeting one fails), Adler-32 of the output, nothing left over. */
static uint8_t *zlib_inflate(const uint8_t *z, size_t n, size_t *out_n, int blocks[4]) {
  ck_assert_msg(n >= 6, "zlib stream of %zu bytes", n);
  ck_assert_msg((z[0] & 15) == 8 && (z[0] >> 4) <= 7, "zlib CMF 0x%02x is not deflate", z[0]);
  ck_assert_msg((z[0] * 256 + z[1]) % 31 == 0, "zlib header check bits are wrong");
  ck_assert_msg(!(z[1] & 0x20), "zlib stream asks for a preset dictionary");
  inflater s = {z + 2, n - 2 - 4, 0, NULL, 0, 0, {0}};
  huffman lit, dist;
  uint8_t l[288];
  for (int i = 0; i < 288; i++) l[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
  huffman_build(&lit, l, 288);
  for (int i = 0; i < 30; i++) l[i] = 5;
  huffman_build(&dist, l, 30);
  int final;
  do {
    final = bit(&s);
    int type = bits(&s, 2);
    s.blocks[type]++;
    if (type == 0) {
      s.pos = (s.pos + 7) / 8 * 8;
      int len = bits(&s, 16), nlen = bits(&s, 16);
      ck_assert_msg(len == (~nlen & 0xFFFF), "stored block: LEN %d and NLEN %d disagree", len, nlen);
      for (int i = 0; i < len; i++) emit(&s, (uint8_t)bits(&s, 8));
    } else if (type == 1) {
      for (;;) {
        int sym = huffman_decode(&s, &lit);
        if (sym < 256) {
          emit(&s, (uint8_t)sym);
          continue;
        }
        if (sym == 256) break;
        sym -= 257;
        ck_assert_msg(sym < 29, "length symbol %d out of range", sym + 257);
        int len = len_base[sym] + bits(&s, len_extra[sym]);
        int ds = huffman_decode(&s, &dist);
        ck_assert_msg(ds < 30, "distance symbol %d out of range", ds);
        size_t d = (size_t)(dist_base[ds] + bits(&s, dist_extra[ds]));
        ck_assert_msg(d <= s.out_n, "distance %zu reaches before the start (%zu bytes out)", d, s.out_n);
        for (int i = 0; i < len; i++) emit(&s, s.out[s.out_n - d]);
      }
    } else {
      ck_abort_msg("deflate block type %d; the encoder should emit only stored and fixed", type);
    }
  } while (!final);
  size_t end = (s.pos + 7) / 8;
  ck_assert_msg(end == s.n, "%zu bytes between the last block and the Adler-32", s.n - end);
  ck_assert_msg(be32(z + 2 + end) == adler32_plain(s.out, s.out_n), "Adler-32 mismatch");
  memcpy(blocks, s.blocks, sizeof s.blocks);
  *out_n = s.out_n;
  return s.out;
}

static int paeth(int a, int b, int c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

typedef struct decoded {
  int width, height;
  uint8_t *rgb;  /* (height, width, 3) */
  int filters[5]; /* rows per filter type */
  int blocks[4];  /* deflate blocks per type */
} decoded;

/* Parses and checks a whole PNG file: signature, IHDR first, IDATs together, IEND last
 * and empty, every CRC; then inflates and unfilters. */
static decoded png_decode(const uint8_t *png, size_t n) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  decoded d = {0};
  ck_assert_msg(n >= 8 && memcmp(png, sig, 8) == 0, "no PNG signature");
  uint8_t *z = NULL;
  size_t zn = 0, pos = 8;
  int chunk = 0, seen_iend = 0, idat_run = 0; /* 0: none yet, 1: in a run, 2: after one */
  while (pos < n) {
    ck_assert_msg(!seen_iend, "bytes after IEND");
    ck_assert_msg(pos + 12 <= n, "chunk %d is cut off", chunk);
    uint32_t len = be32(png + pos);
    ck_assert_msg(len <= n - pos - 12, "chunk %d claims %u bytes, past the end", chunk, len);
    const uint8_t *type = png + pos + 4, *data = png + pos + 8;
    ck_assert_msg(be32(data + len) == crc32_bitwise(type, len + 4), "chunk %d (%.4s): bad CRC", chunk, type);
    if (chunk == 0) {
      ck_assert_msg(memcmp(type, "IHDR", 4) == 0 && len == 13, "first chunk is %.4s, not IHDR", type);
      d.width = (int)be32(data), d.height = (int)be32(data + 4);
      ck_assert(d.width > 0 && d.height > 0);
      ck_assert_msg(data[8] == 8 && data[9] == 2, "not 8-bit RGB: depth %d, colour type %d", data[8], data[9]);
      ck_assert(data[10] == 0 && data[11] == 0 && data[12] == 0);
    } else if (memcmp(type, "IDAT", 4) == 0) {
      ck_assert_msg(idat_run != 2, "IDAT chunks are not consecutive");
      idat_run = 1;
      z = realloc(z, zn + len + 1);
      memcpy(z + zn, data, len);
      zn += len;
    } else if (memcmp(type, "IEND", 4) == 0) {
      ck_assert_msg(len == 0, "IEND has %u bytes", len);
      seen_iend = 1;
    } else {
      ck_assert_msg(type[0] & 0x20, "unknown critical chunk %.4s", type);
    }
    if (idat_run == 1 && memcmp(type, "IDAT", 4) != 0) idat_run = 2;
    pos += 12 + len;
    chunk++;
  }
  ck_assert_msg(seen_iend, "no IEND");
  ck_assert_msg(z, "no IDAT");
  size_t raw_n;
  uint8_t *raw = zlib_inflate(z, zn, &raw_n, d.blocks);
  size_t stride = (size_t)d.width * 3;
  ck_assert_msg(raw_n == (stride + 1) * d.height, "inflated %zu bytes, want %zu", raw_n,
                (stride + 1) * d.height);
  d.rgb = malloc(stride * d.height);
  for (int y = 0; y < d.height; y++) {
    const uint8_t *f = raw + (size_t)y * (stride + 1);
    uint8_t *row = d.rgb + (size_t)y * stride, *up = y ? row - stride : NULL;
    ck_assert_msg(f[0] <= 4, "row %d: filter type %d", y, f[0]);
    d.filters[f[0]]++;
    for (size_t i = 0; i < stride; i++) {
      int a = i >= 3 ? row[i - 3] : 0, b = up ? up[i] : 0, c = i >= 3 && up ? up[i - 3] : 0;
      int pred = f[0] == 0 ? 0 : f[0] == 1 ? a : f[0] == 2 ? b : f[0] == 3 ? (a + b) / 2 : paeth(a, b, c);
      row[i] = (uint8_t)(f[1 + i] + pred);
    }
  }
  free(raw);
  free(z);
  return d;
}

/* Encodes img in memory, decodes it here and checks every pixel. */
static decoded round_trip(const fm_image *img, size_t *png_size) {
  uint8_t *png;
  size_t n;
  ck_fm(fm_png_encode(img->rgb, img->width, img->height, &png, &n));
  decoded d = png_decode(png, n);
  ck_assert_int_eq(d.width, img->width);
  ck_assert_int_eq(d.height, img->height);
  size_t bytes = (size_t)img->width * img->height * 3;
  for (size_t i = 0; i < bytes; i++)
    if (d.rgb[i] != img->rgb[i])
      ck_abort_msg("%d x %d image: pixel (%zu, %zu) channel %zu is %d, want %d", img->width,
                   img->height, i / 3 % img->width, i / 3 / img->width, i % 3, d.rgb[i], img->rgb[i]);
  free(png);
  if (png_size) *png_size = n;
  return d;
}

static uint8_t *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f, "%s: %s", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc(len > 0 ? (size_t)len : 1);
  ck_assert(fread(p, 1, (size_t)len, f) == (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return p;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 32);
}

static fm_color pixel(const fm_image *img, int x, int y) {
  const uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
  return (fm_color)p[0] << 16 | (fm_color)p[1] << 8 | p[2];
}

static int channel_distance(fm_color a, fm_color b) {
  int d = 0;
  for (int s = 0; s <= 16; s += 8) {
    int e = abs((int)((a >> s) & 255) - (int)((b >> s) & 255));
    if (e > d) d = e;
  }
  return d;
}

/* A plot with a bit of everything: points, lines, text, the frame. */
static fm_image sample_plot(void) {
  enum { N = 500 };
  float x[2 * N];
  for (int i = 0; i < N; i++) {
    double a = i * 0.05;
    x[2 * i] = (float)(cos(a) * (1 + 0.002 * i)), x[2 * i + 1] = (float)(sin(a) * (1 + 0.002 * i));
  }
  fm_plot_points set = {.x = x, .n = N, .dim = 2, .cy = 1, .label = "spiral"};
  fm_plot_opts o = {0};
  o.title = "Round trip";
  o.xlabel = "x0";
  o.ylabel = "x1";
  fm_image img;
  ck_fm(fm_plot_scatter(&o, &set, 1, &img, NULL));
  return img;
}

/* ---- PNG ---- */

START_TEST(adler32_matches_its_check_values) {
  const uint8_t *digits = (const uint8_t *)"123456789", *wiki = (const uint8_t *)"Wikipedia";
  ck_assert_uint_eq(crc32_bitwise(digits, 9), 0xCBF43926u); /* the test's own, used below */
  ck_assert_uint_eq(fm_adler32(1, wiki, 9), 0x11E60398u);
  uint8_t big[20000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = 0xFF; /* past the 5552-byte reduction */
  ck_assert_uint_eq(fm_adler32(1, big, sizeof big), adler32_plain(big, sizeof big));
  ck_assert_uint_eq(fm_adler32(fm_adler32(1, big, 7000), big + 7000, 13000), adler32_plain(big, sizeof big));
}
END_TEST

START_TEST(png_decodes_to_the_canvas_pixels_exactly) {
  /* Sizes down to a pixel, sides that are no multiple of anything, smooth gradients (the
   * Sub, Up and Paeth filters), noise (stored blocks) and a real plot (fixed blocks). */
  int filters[5] = {0}, blocks[4] = {0};
  const int sizes[][2] = {{1, 1}, {1, 7}, {37, 5}, {61, 43}};
  for (size_t k = 0; k < FM_ARRAY_LEN(sizes); k++) {
    fm_image img;
    ck_fm(fm_image_create(sizes[k][0], sizes[k][1], 0xFFFFFF, &img));
    for (int y = 0; y < img.height; y++)
      for (int x = 0; x < img.width; x++)
        fm_image_blend(&img, x, y, (fm_color)((x * 4) << 16 | (y * 5) << 8 | ((x * y) & 255)), 1.0f);
    decoded d = round_trip(&img, NULL);
    for (int f = 0; f < 5; f++) filters[f] += d.filters[f];
    free(d.rgb);
    fm_image_free(&img);
  }
  fm_image noise;
  ck_fm(fm_image_create(300, 200, 0, &noise));
  for (size_t i = 0; i < 300 * 200 * 3; i++) noise.rgb[i] = (uint8_t)rnd();
  size_t size;
  decoded d = round_trip(&noise, &size);
  ck_assert_msg(d.blocks[0] > 1 && d.blocks[1] == 0, "noise: %d stored, %d fixed blocks", d.blocks[0], d.blocks[1]);
  ck_assert_msg(size < 300 * 200 * 3 + 201 + 200, "noise grew to %zu bytes", size);
  free(d.rgb);
  fm_image_free(&noise);
  fm_image plot = sample_plot();
  d = round_trip(&plot, NULL);
  for (int t = 0; t < 4; t++) blocks[t] += d.blocks[t];
  for (int f = 0; f < 5; f++) filters[f] += d.filters[f];
  ck_assert_msg(blocks[1] > 0, "the plot used no fixed-Huffman block");
  int kinds = 0;
  for (int f = 0; f < 5; f++) kinds += filters[f] > 0;
  ck_assert_msg(kinds >= 3, "only %d filter types used; the unfilter check saw little", kinds);
  free(d.rgb);
  fm_image_free(&plot);
}
END_TEST

START_TEST(zlib_round_trips_runs_far_repeats_and_noise) {
  enum { N = 200000 };
  uint8_t *data = malloc(N);
  /* A run (distance-1 matches), a pattern repeating at 40000 bytes (beyond the window, so
   * it must not be matched there), then noise. */
  memset(data, 'a', 70000);
  for (int i = 70000; i < 150000; i++) data[i] = (uint8_t)(i < 110000 ? rnd() : data[i - 40000]);
  for (int i = 150000; i < N; i++) data[i] = (uint8_t)rnd();
  const size_t lens[] = {0, 1, 2, 3, 259, 70000, N};
  for (size_t k = 0; k < FM_ARRAY_LEN(lens); k++) {
    uint8_t *z;
    size_t zn, n;
    int blocks[4];
    ck_fm(fm_zlib_compress(data, lens[k], &z, &zn));
    uint8_t *back = zlib_inflate(z, zn, &n, blocks);
    ck_assert_uint_eq(n, lens[k]);
    ck_assert_msg(n == 0 || memcmp(back, data, n) == 0, "%zu bytes do not round-trip", lens[k]);
    if (lens[k] == 70000) ck_assert_msg(zn < 700, "a 70000-byte run took %zu bytes", zn);
    free(back);
    free(z);
  }
  free(data);
}
END_TEST

START_TEST(flat_image_compresses_by_a_large_factor) {
  fm_image img;
  ck_fm(fm_image_create(400, 300, 0xFFFFFF, &img));
  fm_image_rect(&img, 40, 30, 320, 1, 0x222222, 1.0f);
  fm_image_rect(&img, 40, 270, 320, 1, 0x222222, 1.0f);
  fm_image_rect(&img, 100, 100, 80, 60, FM_COLOR_BLUE, 1.0f);
  fm_image_line(&img, 40, 270, 360, 30, 1.5, FM_COLOR_ORANGE, 1.0f);
  fm_image_text(&img, 150, 10, "Mostly flat", 2, 0x222222);
  size_t size;
  decoded d = round_trip(&img, &size);
  size_t raw = 400 * 300 * 3;
  fprintf(stderr, "flat 400 x 300: %zu bytes of %zu (%.0fx)\n", size, raw, (double)raw / size);
  ck_assert_msg(size * 50 < raw, "%zu bytes is only %.1fx smaller than %zu", size, (double)raw / size, raw);
  free(d.rgb);
  fm_image_free(&img);
}
END_TEST

START_TEST(written_file_is_the_png_and_a_failed_write_leaves_none) {
  char dir[] = "/tmp/fmcl-test-plot-XXXXXX", path[256], tmp[300];
  ck_assert(mkdtemp(dir));
  fm_image img = sample_plot();
  snprintf(path, sizeof path, "%s/plot.png", dir);
  ck_fm(fm_image_write_png(&img, path));
  size_t n;
  uint8_t *png = read_file(path, &n);
  decoded d = png_decode(png, n);
  ck_assert(d.width == img.width && d.height == img.height);
  ck_assert(memcmp(d.rgb, img.rgb, (size_t)img.width * img.height * 3) == 0);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ck_assert_msg(access(tmp, F_OK) != 0, "the temporary file was left behind");
  free(d.rgb);
  free(png);
  remove(path);

  /* A folder that does not exist. */
  snprintf(path, sizeof path, "%s/missing/plot.png", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ck_assert_int_eq(fm_image_write_png(&img, path), FM_ERR_IO);
  ck_assert_msg(strstr(fm_error_message(), "missing/plot.png"), "%s", fm_error_message());
  ck_assert(access(path, F_OK) != 0 && access(tmp, F_OK) != 0);

  /* A path that is a folder: the rename fails, the folder stays, no temporary is left. */
  snprintf(path, sizeof path, "%s/folder", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ck_assert(mkdir(path, 0777) == 0);
  ck_assert_int_eq(fm_image_write_png(&img, path), FM_ERR_IO);
  struct stat sb;
  ck_assert(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
  ck_assert_msg(access(tmp, F_OK) != 0, "a failed write left %s", tmp);
  rmdir(path);
  rmdir(dir);
  fm_image_free(&img);
}
END_TEST

/* ---- Drawing ---- */

START_TEST(font_draws_every_character_it_claims) {
  ck_assert_uint_eq(strlen(fm_font_chars), 95);
  static uint8_t seen[95][9]; /* each glyph's bitmap, rows of 5 bits */
  for (int k = 0; fm_font_chars[k]; k++) {
    char ch[2] = {fm_font_chars[k], 0};
    ck_assert_int_eq(ch[0], 32 + k);
    int w = fm_text_width(ch, 1);
    ck_assert_msg(w >= 1 && w <= 5, "'%s' is %d pixels wide", ch, w);
    fm_image img;
    ck_fm(fm_image_create(16, 16, 0xFFFFFF, &img));
    ck_assert_int_eq(fm_image_text(&img, 3, 2, ch, 1, 0), w);
    int ink = 0;
    memset(seen[k], 0, 9);
    for (int y = 0; y < 16; y++)
      for (int x = 0; x < 16; x++) {
        if (pixel(&img, x, y) == 0xFFFFFF) continue;
        ck_assert_msg(pixel(&img, x, y) == 0, "'%s': a blended pixel", ch);
        ck_assert_msg(x >= 3 && x < 3 + w && y >= 2 && y < 2 + FM_FONT_ASCENT + FM_FONT_DESCENT,
                      "'%s' draws outside its box at (%d, %d)", ch, x, y);
        seen[k][y - 2] |= (uint8_t)(1 << (x - 3));
        ink++;
      }
    ck_assert_msg(ch[0] == ' ' ? ink == 0 : ink > 0, "'%s' draws %d pixels", ch, ink);
    for (int j = 1; j < k; j++) /* from 1: space is the only blank one */
      ck_assert_msg(memcmp(seen[j], seen[k], 9) != 0, "'%c' and '%s' look the same", 32 + j, ch);
    /* At scale 3 each pixel is a 3 x 3 square. */
    fm_image big;
    ck_fm(fm_image_create(24, 32, 0xFFFFFF, &big));
    fm_image_text(&big, 1, 1, ch, 3, 0);
    for (int y = 0; y < 27; y++)
      for (int x = 0; x < 3 * w; x++)
        ck_assert_msg((pixel(&big, 1 + x, 1 + y) == 0) == ((seen[k][y / 3] >> (x / 3)) & 1),
                      "'%s' at scale 3 differs at (%d, %d)", ch, x, y);
    fm_image_free(&big);
    fm_image_free(&img);
  }
  /* A character the font lacks is a box, not nothing. */
  fm_image img;
  ck_fm(fm_image_create(16, 16, 0xFFFFFF, &img));
  ck_assert_int_eq(fm_image_text(&img, 0, 0, "\x7f", 1, 0), 5);
  ck_assert(pixel(&img, 0, 0) == 0 && pixel(&img, 4, 6) == 0 && pixel(&img, 2, 3) == 0xFFFFFF);
  fm_image_free(&img);
  ck_assert_int_eq(fm_text_width("", 2), 0);
  ck_assert_int_eq(fm_text_width("10", 2), 2 * (5 + 1 + 5));
}
END_TEST

START_TEST(polyline_blends_each_pixel_once) {
  /* Back and forth over the same pixels: separate lines darken where they overlap, a
   * polyline does not. */
  double xy[8] = {10.5, 10.5, 50.5, 10.5, 10.5, 10.5, 50.5, 30.5};
  fm_image once, twice;
  ck_fm(fm_image_create(64, 40, 0xFFFFFF, &once));
  ck_fm(fm_image_create(64, 40, 0xFFFFFF, &twice));
  ck_fm(fm_image_polyline(&once, xy, 4, 2.0, 0x000000, 0.5f));
  for (int i = 0; i < 3; i++)
    fm_image_line(&twice, xy[2 * i], xy[2 * i + 1], xy[2 * i + 2], xy[2 * i + 3], 2.0, 0, 0.5f);
  int darkest_once = 255, darkest_twice = 255;
  for (int y = 0; y < 40; y++)
    for (int x = 0; x < 64; x++) {
      int a = (int)(pixel(&once, x, y) & 255), b = (int)(pixel(&twice, x, y) & 255);
      darkest_once = a < darkest_once ? a : darkest_once;
      darkest_twice = b < darkest_twice ? b : darkest_twice;
    }
  ck_assert_msg(darkest_once == 128, "polyline: darkest %d, want 128 (half over white)", darkest_once);
  ck_assert_msg(darkest_twice < 100, "separate lines should darken overlaps (darkest %d)", darkest_twice);
  /* Retracing changes nothing: A -> B -> A looks like A -> B, soft edges too. */
  double ab[6] = {10.5, 10.5, 50.5, 12.0, 10.5, 10.5};
  fm_image there, back;
  ck_fm(fm_image_create(64, 40, 0xFFFFFF, &there));
  ck_fm(fm_image_create(64, 40, 0xFFFFFF, &back));
  ck_fm(fm_image_polyline(&there, ab, 2, 2.0, 0x000000, 0.5f));
  ck_fm(fm_image_polyline(&back, ab, 3, 2.0, 0x000000, 0.5f));
  ck_assert_msg(memcmp(there.rgb, back.rgb, 64 * 40 * 3) == 0, "a retraced segment differs");
  fm_image_free(&there);
  fm_image_free(&back);
  /* The line is where it was asked to be: full cover on its centre pixels. */
  ck_assert_uint_eq(pixel(&once, 30, 10) & 255, 128);
  ck_assert_uint_eq(pixel(&once, 30, 14), 0xFFFFFF);
  fm_image_free(&once);
  fm_image_free(&twice);
}
END_TEST

START_TEST(viridis_runs_dark_to_light) {
  ck_assert_uint_eq(fm_colormap_viridis(0), 0x440154);
  ck_assert_uint_eq(fm_colormap_viridis(1), 0xFDE725);
  ck_assert_uint_eq(fm_colormap_viridis(-3), 0x440154);
  ck_assert_uint_eq(fm_colormap_viridis(NAN), 0x440154);
  ck_assert_uint_eq(fm_colormap_viridis(7), 0xFDE725);
  double last = -1;
  for (int i = 0; i <= 50; i++) {
    fm_color c = fm_colormap_viridis(i / 50.0);
    double luma = 0.2126 * (c >> 16) + 0.7152 * ((c >> 8) & 255) + 0.0722 * (c & 255);
    ck_assert_msg(luma > last, "luma falls at t = %g", i / 50.0);
    last = luma;
  }
}
END_TEST

/* ---- Ticks ---- */

static void check_ticks(const char *what, const double *got, int n, const double *want, int n_want) {
  ck_assert_msg(n == n_want, "%s: %d ticks, want %d", what, n, n_want);
  for (int i = 0; i < n; i++)
    ck_assert_msg(fabs(got[i] - want[i]) <= 1e-12 * fmax(1, fabs(want[i])), "%s: tick %d is %.17g, want %g",
                  what, i, got[i], want[i]);
}

START_TEST(nice_ticks_for_several_ranges) {
  double t[32], step;
  int n = fm_ticks_linear(0, 1, 8, t, &step);
  check_ticks("[0, 1]", t, n, (double[]){0, 0.2, 0.4, 0.6, 0.8, 1}, 6);
  ck_assert_double_eq_tol(step, 0.2, 1e-15);
  n = fm_ticks_linear(-3.7, 12.1, 8, t, &step);
  check_ticks("[-3.7, 12.1]", t, n, (double[]){-2, 0, 2, 4, 6, 8, 10, 12}, 8);
  n = fm_ticks_linear(-3.7, 12.1, 5, t, &step);
  check_ticks("[-3.7, 12.1] in 5", t, n, (double[]){0, 5, 10}, 3);
  n = fm_ticks_linear(-250, 5250, 9, t, &step);
  check_ticks("[-250, 5250]", t, n, (double[]){0, 1000, 2000, 3000, 4000, 5000}, 6);
  n = fm_ticks_linear(0.00012, 0.00049, 5, t, &step);
  check_ticks("[1.2e-4, 4.9e-4]", t, n, (double[]){2e-4, 3e-4, 4e-4}, 3);
  ck_assert_double_eq_tol(step, 1e-4, 1e-18);
  ck_assert_int_eq(fm_ticks_linear(1, 1, 8, t, &step), 0);
  ck_assert_int_eq(fm_ticks_linear(0, INFINITY, 8, t, &step), 0);
  n = fm_ticks_log(1e-4, 1, 8, t);
  check_ticks("log [1e-4, 1]", t, n, (double[]){1e-4, 1e-3, 1e-2, 1e-1, 1}, 5);
  n = fm_ticks_log(0.3, 15, 8, t);
  check_ticks("log [0.3, 15]", t, n, (double[]){0.5, 1, 2, 5, 10}, 5);
  n = fm_ticks_log(1e-12, 1e12, 8, t);
  check_ticks("log [1e-12, 1e12]", t, n, (double[]){1e-12, 1e-8, 1e-4, 1, 1e4, 1e8, 1e12}, 7);
  n = fm_ticks_log(0.55, 0.95, 8, t);
  check_ticks("log [0.55, 0.95]", t, n, (double[]){0.6, 0.7, 0.8, 0.9}, 4);
  ck_assert_int_eq(fm_ticks_log(0, 1, 8, t), 0);
}
END_TEST

START_TEST(tick_labels_are_compact) {
  struct {
    double v, step;
    const char *want;
  } cases[] = {{0, 0.2, "0.0"},          {-0.0, 1, "0"},       {0.2 * 3, 0.2, "0.6"},
               {-2, 2, "-2"},          {0.5, 0.5, "0.5"},    {1000, 500, "1000"},
               {0.25, 0.05, "0.25"},   {2e-4, 1e-4, "2e-4"}, {2.5e-4, 5e-5, "2.5e-4"},
               {60000, 20000, "6e4"},  {1e-3, 0, "1e-3"},    {0.5, 0, "0.5"},
               {10, 0, "10"},          {250000, 0, "2.5e5"}, {1e-17, 0.1, "0.0"},
               {-1.5, 0.5, "-1.5"},    {0.001, 0.001, "0.001"}, {0.75, 0.25, "0.75"},
               {3, 0.5, "3.0"},        {0.1 + 0.2, 0.1, "0.3"}, {0, 0, "0"},
               {0, 1e-4, "0"},         {-0.0, 0.5, "0.0"},  {-1e-300, 2, "0"}};
  char buf[32];
  for (size_t i = 0; i < FM_ARRAY_LEN(cases); i++) {
    fm_tick_label(cases[i].v, cases[i].step, buf, sizeof buf);
    ck_assert_msg(strcmp(buf, cases[i].want) == 0, "%g (step %g): \"%s\", want \"%s\"", cases[i].v,
                  cases[i].step, buf, cases[i].want);
  }
}
END_TEST

/* ---- Plots ---- */

START_TEST(scatter_colours_the_expected_pixels) {
  float red[4] = {-0.5f, 0.5f, NAN, 0.0f}, blue[2] = {0.5f, -0.5f};
  fm_plot_points sets[2] = {
      {.x = red, .n = 2, .dim = 2, .cy = 1, .color = 0xFF0000, .alpha = 1.0f, .radius = 3.0f},
      {.x = blue, .n = 1, .dim = 2, .cy = 1, .color = 0x0000FF, .alpha = 1.0f, .radius = 3.0f}};
  fm_plot_opts o = {0};
  o.width = 240, o.height = 200;
  o.xmin = -1, o.xmax = 1, o.ymin = -1, o.ymax = 1;
  fm_image img;
  fm_plot_info info;
  ck_fm(fm_plot_scatter(&o, sets, 2, &img, &info));
  ck_assert_int_eq(info.skipped, 1);
  ck_assert(info.xmin == -1 && info.xmax == 1 && info.ymin == -1 && info.ymax == 1);
  const struct {
    double x, y;
    fm_color c;
  } dots[2] = {{-0.5, 0.5, 0xFF0000}, {0.5, -0.5, 0x0000FF}};
  for (int k = 0; k < 2; k++) {
    double px, py, sx = 0, sy = 0;
    fm_plot_to_pixel(&info, dots[k].x, dots[k].y, &px, &py);
    ck_assert_uint_eq(pixel(&img, (int)px, (int)py), dots[k].c);
    int count = 0;
    for (int y = 0; y < img.height; y++)
      for (int x = 0; x < img.width; x++)
        if (pixel(&img, x, y) == dots[k].c) {
          ck_assert_msg(hypot(x + 0.5 - px, y + 0.5 - py) < 3.5, "stray %06x pixel at (%d, %d)", dots[k].c, x, y);
          sx += x + 0.5, sy += y + 0.5, count++;
        }
    ck_assert_msg(count >= 12, "%d pixels of %06x", count, dots[k].c);
    ck_assert_msg(fabs(sx / count - px) < 0.5 && fabs(sy / count - py) < 0.5,
                  "dot %d centred at (%g, %g), want (%g, %g)", k, sx / count, sy / count, px, py);
  }
  /* The limits fall on the frame's pixel lines, and the tick for 0 below the centre. */
  int mid = (info.top + info.bottom) / 2, centre = (int)floor(info.left + 0.5 + 0.5 * (info.right - info.left));
  ck_assert_uint_eq(pixel(&img, info.left, mid), 0x222222);
  ck_assert_uint_eq(pixel(&img, info.right, mid), 0x222222);
  ck_assert_uint_ne(pixel(&img, info.left + 1, mid), 0x222222);
  ck_assert_uint_eq(pixel(&img, centre, info.bottom + 2), 0x222222);
  ck_assert_uint_eq(pixel(&img, centre - 1, info.bottom + 2), 0xFFFFFF);
  ck_assert_uint_eq(pixel(&img, centre + 1, info.bottom + 2), 0xFFFFFF);
  decoded d = round_trip(&img, NULL);
  free(d.rgb);
  fm_image_free(&img);
}
END_TEST

START_TEST(scatter_limits_from_data_hold_every_point_with_equal_axes) {
  float x[6] = {0, 0, 10, 1, 5, -1};
  fm_plot_points set = {.x = x, .n = 3, .dim = 2};
  fm_image img;
  fm_plot_info info;
  ck_fm(fm_plot_scatter(NULL, &set, 1, &img, &info));
  ck_assert_int_eq(img.width, 640);
  ck_assert(info.xmin < 0 && info.xmax > 10 && info.ymin < -1 && info.ymax > 1);
  double ux = (info.xmax - info.xmin) / (info.right - info.left);
  double uy = (info.ymax - info.ymin) / (info.bottom - info.top);
  ck_assert_msg(fabs(ux / uy - 1) < 1e-9, "x and y units differ: %g and %g per pixel", ux, uy);
  ck_assert(info.equal_scale);
  fm_image_free(&img);
}
END_TEST

START_TEST(scatter_of_incommensurable_coordinates_scales_each_axis_and_says_so) {
  /* x spans about 300, y about 0.6: equal units would flatten y to a line. */
  float x[8] = {850, -20.3f, 1000, -20, 1150, -19.7f, 990, -20.1f};
  fm_plot_points set = {.x = x, .n = 4, .dim = 2};
  fm_image img, plain;
  fm_plot_info info;
  ck_fm(fm_plot_scatter(NULL, &set, 1, &img, &info));
  ck_assert(!info.equal_scale);
  /* The frame spans the data on both axes... */
  ck_assert(info.ymin > -20.5 && info.ymax < -19.5);
  ck_assert(info.xmin > 800 && info.xmax < 1200);
  /* ...and a note under the title says so: the image has ink above the frame that a plot
   * with commensurable data and no title does not. */
  float near[8] = {0, 0, 1, 1, 2, 0.5f, 1, 0.2f};
  set.x = near;
  fm_plot_info plain_info;
  ck_fm(fm_plot_scatter(NULL, &set, 1, &plain, &plain_info));
  ck_assert(plain_info.equal_scale);
  ck_assert_int_lt(plain_info.top, info.top);
  long ink = 0;
  for (int y = 0; y < info.top - 4; y++)
    for (int c = 0; c < img.width; c++) ink += pixel(&img, c, y) != 0xFFFFFF;
  ck_assert_msg(ink > 50, "no note above the frame (%ld dark pixels)", ink);
  fm_image_free(&img);
  fm_image_free(&plain);
}
END_TEST

START_TEST(heatmap_shows_values_through_viridis) {
  float v[2] = {0, 1}; /* cell 0 over x in [0, 1], cell 1 over [1, 2] */
  fm_plot_grid g = {.v = v, .nx = 2, .ny = 1, .xmax = 2, .ymax = 1, .label = "value"};
  fm_plot_opts o = {0};
  o.aspect = FM_ASPECT_FREE;
  fm_image img;
  fm_plot_info info;
  ck_fm(fm_plot_heatmap(&o, &g, &img, &info));
  ck_assert(info.xmin == 0 && info.xmax == 2 && info.ymin == 0 && info.ymax == 1);
  int mid = (info.top + info.bottom) / 2;
  /* Left of the first cell's centre the value is 0, right of the last one's 1. */
  ck_assert_uint_eq(pixel(&img, info.left + 3, mid), 0x440154);
  ck_assert_uint_eq(pixel(&img, info.right - 3, mid), 0xFDE725);
  double px, py;
  fm_plot_to_pixel(&info, 1.0, 0.5, &px, &py);
  ck_assert_int_le(channel_distance(pixel(&img, (int)px, (int)py), fm_colormap_viridis(0.5)), 4);
  /* The colour bar: the top colour somewhere right of the frame. */
  int found = 0;
  for (int x = info.right + 1; x < img.width; x++)
    found |= channel_distance(pixel(&img, x, info.top + 1), 0xFDE725) <= 4;
  ck_assert_msg(found, "no colour bar right of the frame");
  fm_image_free(&img);

  /* Equal axes by default: a 2:1 area gets a 2:1 frame. */
  ck_fm(fm_plot_heatmap(NULL, &g, &img, &info));
  double ratio = (double)(info.right - info.left) / (info.bottom - info.top);
  ck_assert_msg(fabs(ratio - 2) < 0.02, "frame ratio %g, want 2", ratio);
  fm_image_free(&img);

  float holes[4] = {0, NAN, INFINITY, 1};
  fm_plot_grid h = {.v = holes, .nx = 2, .ny = 2, .xmin = -1, .xmax = 1, .ymin = -1, .ymax = 1};
  ck_fm(fm_plot_heatmap(NULL, &h, &img, &info));
  ck_assert_int_eq(info.skipped, 2);
  fm_image_free(&img);
}
END_TEST

START_TEST(trajectories_mark_starts_and_ends) {
  /* Two paths of three snapshots, (steps, n, dim); the second has a NaN and is skipped. */
  float x[3][2][2] = {{{0, 0}, {1.5f, -0.5f}}, {{0.5f, 0.5f}, {NAN, 0}}, {{1, 1}, {1.5f, 1.5f}}};
  fm_plot_opts o = {0};
  o.xmin = -1, o.xmax = 2, o.ymin = -1, o.ymax = 2;
  o.legend = FM_LEGEND_NONE;
  fm_image img;
  fm_plot_info info;
  ck_fm(fm_plot_trajectories(&o, &x[0][0][0], 3, 2, 2, 0, 1, &img, &info));
  ck_assert_int_eq(info.skipped, 1);
  double px, py;
  fm_plot_to_pixel(&info, 0, 0, &px, &py);
  fm_color start = pixel(&img, (int)px, (int)py);
  fm_plot_to_pixel(&info, 1, 1, &px, &py);
  fm_color end = pixel(&img, (int)px, (int)py);
  ck_assert_msg(channel_distance(start, FM_COLOR_ORANGE) < 40, "start is %06x", start);
  ck_assert_msg(channel_distance(end, FM_COLOR_BLUE) < 40, "end is %06x", end);
  fm_plot_to_pixel(&info, 0.25, 0.25, &px, &py);
  fm_color line = pixel(&img, (int)px, (int)py);
  ck_assert_msg(line != 0xFFFFFF && (line & 255) > ((line >> 16) & 255), "no light blue path: %06x", line);
  /* Nothing of the skipped path, neither its ends nor its line. */
  fm_plot_to_pixel(&info, 1.5, -0.5, &px, &py);
  ck_assert_msg(channel_distance(pixel(&img, (int)px, (int)py), FM_COLOR_ORANGE) > 40, "skipped start drawn");
  fm_plot_to_pixel(&info, 1.5, 1.5, &px, &py);
  ck_assert_msg(channel_distance(pixel(&img, (int)px, (int)py), FM_COLOR_BLUE) > 40, "skipped end drawn");
  fm_plot_to_pixel(&info, 1.5, 0.5, &px, &py);
  ck_assert_msg(channel_distance(pixel(&img, (int)px, (int)py), PATH_COLOR) > 40, "skipped line drawn");
  fm_image_free(&img);
}
END_TEST

START_TEST(trajectories_legend_names_the_source) {
  float x[2][1][2] = {{{0, 0}}, {{1, 1}}};
  fm_plot_opts o = {.xmin = -1, .xmax = 2, .ymin = -1, .ymax = 2};
  fm_image noise, moons;
  ck_fm(fm_plot_trajectories(&o, &x[0][0][0], 2, 1, 2, 0, 1, &noise, NULL));
  o.start_label = "moons, t=0";
  ck_fm(fm_plot_trajectories(&o, &x[0][0][0], 2, 1, 2, 0, 1, &moons, NULL));
  /* Only the legend's text differs. */
  long differ = 0;
  for (int y = 0; y < noise.height; y++)
    for (int c = 0; c < noise.width; c++) differ += pixel(&noise, c, y) != pixel(&moons, c, y);
  ck_assert_msg(differ > 20 && differ < 2000, "%ld pixels differ", differ);
  fm_image_free(&noise);
  fm_image_free(&moons);
}
END_TEST

START_TEST(line_plot_on_log_axis_skips_what_it_cannot_show) {
  double y[6] = {1, 10, 0, -1, 100, NAN};
  fm_plot_series s = {.y = y, .n = 6, .color = 0xFF0000, .alpha = 1.0f, .width = 3.0f, .label = "loss"};
  fm_plot_opts o = {0};
  o.log_y = 1;
  fm_image img;
  fm_plot_info info;
  ck_fm(fm_plot_lines(&o, &s, 1, &img, &info));
  ck_assert_int_eq(info.skipped, 3);
  ck_assert(info.log_y);
  ck_assert(info.ymin < 0 && info.ymax > 2 && info.ymin > -0.5 && info.ymax < 2.5);
  double px, py;
  fm_plot_to_pixel(&info, 1, 10, &px, &py);
  ck_assert_uint_eq(pixel(&img, (int)px, (int)py), 0xFF0000);
  fm_plot_to_pixel(&info, 0.5, sqrt(10), &px, &py); /* halfway, in log space */
  ck_assert_uint_eq(pixel(&img, (int)px, (int)py), 0xFF0000);
  fm_plot_to_pixel(&info, 4, 100, &px, &py); /* alone after a break: a dot */
  ck_assert_uint_eq(pixel(&img, (int)px, (int)py), 0xFF0000);
  fm_plot_to_pixel(&info, 3, 31.6, &px, &py); /* no line across the break */
  ck_assert_uint_ne(pixel(&img, (int)px, (int)py), 0xFF0000);
  fm_image_free(&img);
}
END_TEST

START_TEST(bad_input_is_refused_with_a_message) {
  float pts[4] = {0, 0, 1, 1}, nan2[4] = {NAN, 0, 1, INFINITY};
  fm_image img;
  fm_plot_points set = {.x = pts, .dim = 2, .cy = 1};
/* Bad arguments are FM_ERR_INVALID; nothing finite to draw is FM_ERR_NUMERIC. */
#define REFUSED_AS(status, call, text)                                                           \
  do {                                                                                           \
    img.rgb = (uint8_t *)1;                                                                      \
    ck_assert_int_eq((call), status);                                                            \
    ck_assert_msg(strstr(fm_error_message(), text), "%s: message \"%s\" lacks \"%s\"", #call,    \
                  fm_error_message(), text);                                                     \
    ck_assert_msg(img.rgb == NULL, "%s left an image", #call);                                   \
  } while (0)
#define REFUSED(call, text) REFUSED_AS(FM_ERR_INVALID, call, text)
#define NOTHING_TO_DRAW(call, text) REFUSED_AS(FM_ERR_NUMERIC, call, text)
  REFUSED(fm_plot_scatter(NULL, &set, 1, &img, NULL), "n must be positive, got 0");
  set.n = 2, set.cx = 0, set.cy = 2;
  REFUSED(fm_plot_scatter(NULL, &set, 1, &img, NULL), "scatter plot: set 0: columns 0 and 2");
  set.cy = 1, set.x = nan2;
  NOTHING_TO_DRAW(fm_plot_scatter(NULL, &set, 1, &img, NULL), "none of the 2 points is finite");
  set.x = pts;
  REFUSED(fm_plot_scatter(NULL, &set, 0, &img, NULL), "no point sets");
  fm_plot_opts o = {0};
  o.width = 100;
  REFUSED(fm_plot_scatter(&o, &set, 1, &img, NULL), "from 160 to 8192");
  o.width = 0, o.xmin = 2, o.xmax = 1;
  REFUSED(fm_plot_scatter(&o, &set, 1, &img, NULL), "xmin must be below xmax");
  fm_plot_opts lo = {0};
  lo.log_y = 1, lo.ymin = 0, lo.ymax = 10;
  double y[2] = {1, 2};
  fm_plot_series s = {.y = y, .n = 2};
  REFUSED(fm_plot_lines(&lo, &s, 1, &img, NULL), "ymin must be positive");
  double neg[2] = {-1, 0};
  s.y = neg;
  lo.ymin = lo.ymax = 0;
  NOTHING_TO_DRAW(fm_plot_lines(&lo, &s, 1, &img, NULL), "finite and positive");
  s.y = NULL;
  REFUSED(fm_plot_lines(NULL, &s, 1, &img, NULL), "y is NULL");
  float v[4] = {0, 1, 2, 3};
  fm_plot_grid g = {.v = v, .ny = 4, .xmax = 1, .ymax = 1};
  REFUSED(fm_plot_heatmap(NULL, &g, &img, NULL), "0 x 4 grid has no cells");
  g.nx = 2, g.ny = 2, g.xmax = 0;
  REFUSED(fm_plot_heatmap(NULL, &g, &img, NULL), "each min must be below its max");
  g.xmax = 1, g.vmin = 1, g.vmax = 0;
  REFUSED(fm_plot_heatmap(NULL, &g, &img, NULL), "vmin must be below vmax");
  REFUSED(fm_plot_trajectories(NULL, pts, 1, 2, 2, 0, 1, &img, NULL), "at least 2");
  REFUSED(fm_plot_trajectories(NULL, pts, 2, 0, 2, 0, 1, &img, NULL), "n must be positive");
  NOTHING_TO_DRAW(fm_plot_trajectories(NULL, nan2, 2, 1, 2, 0, 1, &img, NULL),
                  "none of the 1 trajectories");
#undef NOTHING_TO_DRAW
#undef REFUSED
#undef REFUSED_AS
  ck_assert_int_eq(fm_image_create(0, 5, 0, &img), FM_ERR_INVALID);
  ck_assert_int_eq(fm_image_create(5, 16385, 0, &img), FM_ERR_INVALID);
  fm_image_free(NULL);
  fm_image empty = {0};
  ck_assert_int_eq(fm_image_write_png(&empty, "/tmp/fmcl-never.png"), FM_ERR_INVALID);
  ck_assert(access("/tmp/fmcl-never.png", F_OK) != 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("plot");
  TCase *tc = tcase_create("plot");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, adler32_matches_its_check_values);
  tcase_add_test(tc, png_decodes_to_the_canvas_pixels_exactly);
  tcase_add_test(tc, zlib_round_trips_runs_far_repeats_and_noise);
  tcase_add_test(tc, flat_image_compresses_by_a_large_factor);
  tcase_add_test(tc, written_file_is_the_png_and_a_failed_write_leaves_none);
  tcase_add_test(tc, font_draws_every_character_it_claims);
  tcase_add_test(tc, polyline_blends_each_pixel_once);
  tcase_add_test(tc, viridis_runs_dark_to_light);
  tcase_add_test(tc, nice_ticks_for_several_ranges);
  tcase_add_test(tc, tick_labels_are_compact);
  tcase_add_test(tc, scatter_colours_the_expected_pixels);
  tcase_add_test(tc, scatter_limits_from_data_hold_every_point_with_equal_axes);
  tcase_add_test(tc, scatter_of_incommensurable_coordinates_scales_each_axis_and_says_so);
  tcase_add_test(tc, heatmap_shows_values_through_viridis);
  tcase_add_test(tc, trajectories_mark_starts_and_ends);
  tcase_add_test(tc, trajectories_legend_names_the_source);
  tcase_add_test(tc, line_plot_on_log_axis_skips_what_it_cannot_show);
  tcase_add_test(tc, bad_input_is_refused_with_a_message);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}

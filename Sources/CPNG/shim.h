#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// libpng reports errors by longjmp to a setjmp point, which Swift cannot set. The whole decode
// therefore runs inside this one C function: libpng's error handler copies the reason into the
// result and jumps back here, and Swift only sees a return code.

/// One PNG decoded to 8-bit samples, laid out as Pillow presents the file (see mm_png_decode).
typedef struct {
  /// width * height * channels samples, row-major, no padding; malloc'd, release with mm_png_free.
  unsigned char *pixels;
  unsigned int width, height;
  /// 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA.
  int channels;
  /// As stored in the file: PNG_COLOR_TYPE_*, bits per sample, Adam7 or not, tRNS chunk present.
  int color_type, bit_depth, interlaced, has_transparency_chunk;
  /// libpng's reason when decoding fails.
  char message[256];
} mm_png_image;

typedef struct {
  const unsigned char *data;
  size_t size, offset;
  mm_png_image *image;
} mm_png_source;

static void mm_png_on_error(png_structp png, png_const_charp message) {
  mm_png_source *source = (mm_png_source *)png_get_error_ptr(png);
  snprintf(source->image->message, sizeof source->image->message, "%s", message);
  png_longjmp(png, 1);
}

// Warnings (bad ancillary chunks, CRC of ancillary data, ...) are not errors for Pillow either.
static void mm_png_on_warning(png_structp png, png_const_charp message) {
  (void)png;
  (void)message;
}

static void mm_png_read(png_structp png, png_bytep out, size_t count) {
  mm_png_source *source = (mm_png_source *)png_get_io_ptr(png);
  if (count > source->size - source->offset) png_error(png, "file is truncated");
  memcpy(out, source->data + source->offset, count);
  source->offset += count;
}

/// Decodes the PNG in data[0..<size] into image. Returns 0, or -1 with image->message set.
///
/// The samples are what Pillow 13's Image.open gives, converted as its mode requires:
/// palette -> RGB, or RGBA when a tRNS chunk gives the palette alpha (Pillow "P", as
/// .convert("RGBA") / .convert("RGB")); gray of 1, 2 or 4 bits -> 8 bits, scaled as Pillow's "1"
/// and "L;2"/"L;4" unpackers do (0/255, x85, x17); 16-bit RGB, RGBA and gray+alpha -> the high byte
/// of each sample (Pillow's "RGB;16B"-style unpackers; Pillow opens 16-bit gray+alpha as "RGBA", so
/// that becomes RGBA with the gray repeated); 16-bit gray -> min(value, 255), which is
/// what Pillow's "I;16" mode becomes under .convert("L") and .convert("RGB"). A tRNS colour key on
/// an 8-bit (or smaller) gray or RGB image becomes an alpha channel (0 where the key matches):
/// Pillow keeps the key in info["transparency"], and transformers 5 composites those pixels onto
/// white, so the key must survive decoding. 16-bit gray keeps ignoring its key (Pillow's "I;16"
/// path has no alpha to give it).
/// Images with more than max_pixels pixels are refused before any allocation.
static inline int mm_png_decode(const unsigned char *data, size_t size, size_t max_pixels,
                                mm_png_image *image) {
  memset(image, 0, sizeof *image);
  mm_png_source source = {data, size, 0, image};
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, mm_png_on_error, mm_png_on_warning);
  if (!png) {
    snprintf(image->message, sizeof image->message, "libpng could not start");
    return -1;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    snprintf(image->message, sizeof image->message, "libpng could not start");
    return -1;
  }
  unsigned char *volatile pixels = NULL;
  png_bytep *volatile rows = NULL;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    free(pixels);
    image->pixels = NULL;
    return -1;
  }
  png_set_read_fn(png, &source, mm_png_read);
  png_read_info(png, info);

  png_uint_32 width = png_get_image_width(png, info);
  png_uint_32 height = png_get_image_height(png, info);
  int color_type = png_get_color_type(png, info);
  int bit_depth = png_get_bit_depth(png, info);
  int interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
  int has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  image->color_type = color_type;
  image->bit_depth = bit_depth;
  image->interlaced = interlaced;
  image->has_transparency_chunk = has_trns;
  if (width == 0 || height == 0 || (size_t)width > max_pixels / height) {
    png_error(png, "image size is out of range");
  }

  int channels = 0;
  int clip_gray16 = 0;
  switch (color_type) {
  case PNG_COLOR_TYPE_PALETTE:
    png_set_palette_to_rgb(png);
    if (has_trns) png_set_tRNS_to_alpha(png);
    channels = has_trns ? 4 : 3;
    break;
  case PNG_COLOR_TYPE_GRAY:
    if (bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    clip_gray16 = bit_depth == 16;
    channels = 1;
    if (has_trns && !clip_gray16) {
      png_set_tRNS_to_alpha(png);
      channels = 2;
    }
    break;
  case PNG_COLOR_TYPE_GRAY_ALPHA:
    if (bit_depth == 16) png_set_gray_to_rgb(png);
    channels = bit_depth == 16 ? 4 : 2;
    break;
  case PNG_COLOR_TYPE_RGB:
    channels = 3;
    if (has_trns && bit_depth == 8) {
      png_set_tRNS_to_alpha(png);
      channels = 4;
    }
    break;
  case PNG_COLOR_TYPE_RGB_ALPHA: channels = 4; break;
  default: png_error(png, "unknown colour type");
  }
  if (bit_depth == 16 && !clip_gray16) png_set_strip_16(png);
  if (interlaced) png_set_interlace_handling(png);
  png_read_update_info(png, info);

  size_t sample_bytes = clip_gray16 ? 2 : 1;
  size_t row_bytes = (size_t)width * channels * sample_bytes;
  if (png_get_rowbytes(png, info) != row_bytes) png_error(png, "unexpected row layout");
  pixels = malloc(row_bytes * height);
  rows = malloc(sizeof(png_bytep) * height);
  if (!pixels || !rows) png_error(png, "out of memory");
  for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + y * row_bytes;
  png_read_image(png, rows);

  if (clip_gray16) {
    size_t count = (size_t)width * height;
    for (size_t i = 0; i < count; i++) {
      unsigned value = ((unsigned)pixels[2 * i] << 8) | pixels[2 * i + 1];
      pixels[i] = value > 255 ? 255 : (unsigned char)value;
    }
  }
  png_destroy_read_struct(&png, &info, NULL);
  free(rows);
  image->pixels = pixels;
  image->width = width;
  image->height = height;
  image->channels = channels;
  return 0;
}

static inline void mm_png_free(mm_png_image *image) {
  free(image->pixels);
  image->pixels = NULL;
}

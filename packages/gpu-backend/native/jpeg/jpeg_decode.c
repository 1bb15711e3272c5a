/*
 * JPEG → interleaved 8-bit RGB with libjpeg-turbo's libjpeg API, synchronously on the calling thread,
 * into a caller-supplied buffer that is reused from image to image (a new one is returned only when it
 * is too small).
 *
 * Decoder settings are libjpeg's defaults, which are also libvips' and Pillow's: JDCT_ISLOW, fancy
 * upsampling, no DCT scaling, output RGB (grey replicated to three channels by libjpeg's own grey→RGB
 * converter). What this decoder does not reproduce bit for bit is reported back as "fallback" so the
 * caller decodes that image another way: CMYK / YCCK or other colour spaces, precisions other than 8
 * bits, EXIF orientations other than 1 when the caller asks for auto-orientation, unreadable EXIF.
 *
 * Warnings follow libvips with fail_on=error: a premature end of data (truncation) is an error, other
 * corrupt-data warnings are tolerated up to a hundred, beyond which the image is refused.
 *
 * The module keeps no global state (every decode has its own decompressor on the stack) and registers
 * with NAPI_MODULE_INIT, so each worker thread can load it.
 */
#include <node_api.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#define MAX_WARNINGS 100

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int unsupported; /* the error means "cannot decode this kind of JPEG", not "corrupt" */
} ErrorState;

static int is_unsupported_code(int code) {
  switch (code) {
    case JERR_BAD_PRECISION:
    case JERR_ARITH_NOTIMPL:
    case JERR_NOT_COMPILED:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_CCIR601_NOTIMPL:
      return 1;
    default:
      return 0;
  }
}

static void on_error_exit(j_common_ptr cinfo) {
  ErrorState *err = (ErrorState *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, err->message);
  err->unsupported = is_unsupported_code(cinfo->err->msg_code);
  longjmp(err->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return; /* trace messages */
  ErrorState *err = (ErrorState *)cinfo->err;
  long warnings = ++cinfo->err->num_warnings;
  if (cinfo->err->msg_code == JWRN_JPEG_EOF || warnings >= MAX_WARNINGS) {
    (*cinfo->err->format_message)(cinfo, err->message);
    err->unsupported = 0;
    longjmp(err->jump, 1);
  }
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

/* libjpeg's standard error manager with our exits: an error longjmps to err->jump with its message, and
 * nothing is printed. The decoder adds its own handling of warnings. */
static struct jpeg_error_mgr *error_manager(ErrorState *err) {
  struct jpeg_error_mgr *pub = jpeg_std_error(&err->pub);
  pub->error_exit = on_error_exit;
  pub->output_message = on_output_message;
  err->unsupported = 0;
  err->message[0] = '\0';
  return pub;
}

/* EXIF orientation of the first APP1 "Exif\0\0" segment: 1 when there is none, -1 when unreadable. */
static int exif_orientation(j_decompress_ptr cinfo) {
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next) {
    if (m->marker != JPEG_APP0 + 1 || m->data_length < 4 || memcmp(m->data, "Exif", 4) != 0) continue;
    const uint8_t *p = m->data;
    size_t n = m->data_length;
    if (n < 6 + 8 || p[4] != 0 || p[5] != 0) return -1;
    const uint8_t *t = p + 6;
    size_t tn = n - 6;
    int le;
    if (t[0] == 'I' && t[1] == 'I') le = 1;
    else if (t[0] == 'M' && t[1] == 'M') le = 0;
    else return -1;
#define U16(q) (le ? (unsigned)((q)[0] | ((q)[1] << 8)) : (unsigned)(((q)[0] << 8) | (q)[1]))
#define U32(q) (le ? ((uint32_t)(q)[0] | ((uint32_t)(q)[1] << 8) | ((uint32_t)(q)[2] << 16) | ((uint32_t)(q)[3] << 24)) \
                   : (((uint32_t)(q)[0] << 24) | ((uint32_t)(q)[1] << 16) | ((uint32_t)(q)[2] << 8) | (uint32_t)(q)[3]))
    if (U16(t + 2) != 42) return -1;
    uint32_t ifd = U32(t + 4);
    if (ifd < 8 || ifd > tn - 2) return -1;
    unsigned count = U16(t + ifd);
    if ((size_t)ifd + 2 + (size_t)count * 12 > tn) return -1;
    int found = 1;
    int seen = 0;
    for (unsigned i = 0; i < count; i++) {
      const uint8_t *e = t + ifd + 2 + (size_t)i * 12;
      if (U16(e) != 0x0112) continue;
      if (seen) return -1; /* two orientation entries: leave the choice to the other decoder */
      seen = 1;
      if (U16(e + 2) != 3 || U32(e + 4) != 1) return -1; /* SHORT, one value */
      found = (int)U16(e + 8);
    }
#undef U16
#undef U32
    return found;
  }
  return 1;
}

typedef enum { OUT_OK, OUT_FALLBACK, OUT_TOO_LARGE, OUT_ERROR } Outcome;

typedef struct {
  const uint8_t *input;
  size_t input_length;
  double max_pixels;
  int auto_orient;
  /* in: the caller's buffer; out: the buffer holding the pixels (the same, or a new one) */
  napi_env env;
  napi_value buffer;
  uint8_t *buffer_data;
  size_t buffer_length;
  napi_status napi_failed;
  const char *fallback_reason;
  JDIMENSION width, height;
} Job;

static Outcome decode(Job *job, ErrorState *err) {
  struct jpeg_decompress_struct cinfo;
  cinfo.err = error_manager(err);
  err->pub.emit_message = on_emit_message;
  volatile Outcome outcome = OUT_ERROR;

  jpeg_create_decompress(&cinfo);
  if (setjmp(err->jump)) {
    jpeg_destroy_decompress(&cinfo);
    return err->unsupported ? (job->fallback_reason = err->message, OUT_FALLBACK) : OUT_ERROR;
  }
  jpeg_mem_src(&cinfo, job->input, (unsigned long)job->input_length);
  if (job->auto_orient) jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header(&cinfo, TRUE);
  job->width = cinfo.image_width;
  job->height = cinfo.image_height;
  if ((double)cinfo.image_width * (double)cinfo.image_height > job->max_pixels) {
    outcome = OUT_TOO_LARGE;
    goto done;
  }
  if (cinfo.data_precision != 8) {
    job->fallback_reason = "not an 8-bit JPEG";
    outcome = OUT_FALLBACK;
    goto done;
  }
  if (cinfo.jpeg_color_space == JCS_GRAYSCALE && cinfo.num_components == 1) {
    cinfo.out_color_space = JCS_RGB;
  } else if ((cinfo.jpeg_color_space == JCS_YCbCr || cinfo.jpeg_color_space == JCS_RGB) && cinfo.num_components == 3) {
    cinfo.out_color_space = JCS_RGB;
  } else {
    job->fallback_reason = "colour space other than YCbCr, RGB or grey";
    outcome = OUT_FALLBACK;
    goto done;
  }
  if (job->auto_orient) {
    int orientation = exif_orientation(&cinfo);
    if (orientation != 1) {
      job->fallback_reason = orientation < 0 ? "unreadable EXIF orientation" : "EXIF orientation other than 1";
      outcome = OUT_FALLBACK;
      goto done;
    }
  }
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  cinfo.scale_num = 1;
  cinfo.scale_denom = 1;
  jpeg_start_decompress(&cinfo);
  if (cinfo.output_components != 3 || cinfo.output_width != job->width || cinfo.output_height != job->height) {
    job->fallback_reason = "unexpected output shape";
    outcome = OUT_FALLBACK;
    goto done;
  }
  size_t stride = (size_t)cinfo.output_width * 3;
  size_t needed = stride * cinfo.output_height;
  if (job->buffer_data == NULL || job->buffer_length < needed) {
    void *data = NULL;
    napi_value grown;
    napi_status status = napi_create_arraybuffer(job->env, needed, &data, &grown);
    if (status != napi_ok) {
      job->napi_failed = status;
      outcome = OUT_ERROR;
      goto done;
    }
    job->buffer = grown;
    job->buffer_data = data;
    job->buffer_length = needed;
  }
  {
    JSAMPROW rows[16];
    while (cinfo.output_scanline < cinfo.output_height) {
      JDIMENSION want = cinfo.output_height - cinfo.output_scanline;
      if (want > 16) want = 16;
      for (JDIMENSION r = 0; r < want; r++) rows[r] = job->buffer_data + (size_t)(cinfo.output_scanline + r) * stride;
      jpeg_read_scanlines(&cinfo, rows, want);
    }
  }
  /* As libvips: what follows the last scanline (trailing markers, EOI) is not read, so it cannot fail
   * an image whose pixels are all there. */
  outcome = OUT_OK;
done:
  jpeg_destroy_decompress(&cinfo);
  return outcome;
}

static napi_value set_u32(napi_env env, napi_value obj, const char *key, uint32_t value) {
  napi_value v;
  napi_create_uint32(env, value, &v);
  napi_set_named_property(env, obj, key, v);
  return obj;
}

static napi_value set_str(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
  return obj;
}

/*
 * decode(input: Uint8Array, buffer: ArrayBuffer | null, maxPixels: number, autoOrient: boolean)
 *   → { kind: 'rgb', width, height, channels: 3, buffer }   pixels in buffer[0, width*height*3)
 *   | { kind: 'fallback', reason }                         decode this image another way
 *   | { kind: 'too-large', width, height }                 refused from the header, nothing decoded
 * throws Error (code 'ERR_JPEG_DECODE') with libjpeg's message for corrupt or truncated data.
 */
static napi_value js_decode(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    napi_throw_type_error(env, NULL, "decode(input, buffer, maxPixels, autoOrient) takes four arguments");
    return NULL;
  }
  Job job;
  memset(&job, 0, sizeof job);
  job.env = env;

  bool is_typed = false;
  napi_is_typedarray(env, argv[0], &is_typed);
  if (!is_typed) {
    napi_throw_type_error(env, NULL, "input must be a Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value backing;
  size_t offset;
  napi_get_typedarray_info(env, argv[0], &type, &length, &data, &backing, &offset);
  if (type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "input must be a Uint8Array");
    return NULL;
  }
  job.input = data;
  job.input_length = length;

  napi_valuetype buffer_type;
  napi_typeof(env, argv[1], &buffer_type);
  if (buffer_type != napi_null && buffer_type != napi_undefined) {
    bool is_ab = false;
    napi_is_arraybuffer(env, argv[1], &is_ab);
    if (!is_ab) {
      napi_throw_type_error(env, NULL, "buffer must be an ArrayBuffer or null");
      return NULL;
    }
    void *bdata = NULL;
    size_t blen = 0;
    napi_get_arraybuffer_info(env, argv[1], &bdata, &blen);
    job.buffer = argv[1];
    job.buffer_data = bdata;
    job.buffer_length = blen;
  }
  if (napi_get_value_double(env, argv[2], &job.max_pixels) != napi_ok || !(job.max_pixels >= 1)) {
    napi_throw_range_error(env, NULL, "maxPixels must be a positive number");
    return NULL;
  }
  bool auto_orient = true;
  if (napi_get_value_bool(env, argv[3], &auto_orient) != napi_ok) {
    napi_throw_type_error(env, NULL, "autoOrient must be a boolean");
    return NULL;
  }
  job.auto_orient = auto_orient ? 1 : 0;

  ErrorState err;
  if (job.input_length == 0) {
    napi_throw_error(env, "ERR_JPEG_DECODE", "empty input");
    return NULL;
  }
  Outcome outcome = decode(&job, &err);
  napi_value result;
  napi_create_object(env, &result);
  switch (outcome) {
    case OUT_OK:
      set_str(env, result, "kind", "rgb");
      set_u32(env, result, "width", job.width);
      set_u32(env, result, "height", job.height);
      set_u32(env, result, "channels", 3);
      napi_set_named_property(env, result, "buffer", job.buffer);
      return result;
    case OUT_FALLBACK:
      set_str(env, result, "kind", "fallback");
      set_str(env, result, "reason", job.fallback_reason != NULL ? job.fallback_reason : "unsupported");
      return result;
    case OUT_TOO_LARGE:
      set_str(env, result, "kind", "too-large");
      set_u32(env, result, "width", job.width);
      set_u32(env, result, "height", job.height);
      return result;
    case OUT_ERROR:
    default:
      if (job.napi_failed != napi_ok) {
        napi_throw_error(env, NULL, "cannot allocate the output buffer");
        return NULL;
      }
      napi_throw_error(env, "ERR_JPEG_DECODE", err.message[0] != '\0' ? err.message : "corrupt JPEG data");
      return NULL;
  }
}


/*
 * encode(rgb: Uint8Array, width, height, options: Int32Array [quality, h, v, restartRows, progressive,
 *        arithmetic, grey]) → Uint8Array
 * libjpeg's own encoder, for the tests: JPEGs sharp's encoder cannot write (4:2:2, 4:4:0, restart
 * markers, arithmetic coding). `h`×`v` are the luma sampling factors (chroma 1×1).
 */
typedef struct {
  const uint8_t *rgb;
  JDIMENSION width, height;
  int32_t opt[7];
  unsigned char *out;
  unsigned long out_length;
} EncodeJob;

static int encode(EncodeJob *job, ErrorState *err) {
  struct jpeg_compress_struct cinfo;
  cinfo.err = error_manager(err);
  jpeg_create_compress(&cinfo);
  if (setjmp(err->jump)) {
    jpeg_destroy_compress(&cinfo);
    return -1;
  }
  jpeg_mem_dest(&cinfo, &job->out, &job->out_length);
  cinfo.image_width = job->width;
  cinfo.image_height = job->height;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, job->opt[0], TRUE);
  if (job->opt[6]) jpeg_set_colorspace(&cinfo, JCS_GRAYSCALE);
  cinfo.comp_info[0].h_samp_factor = job->opt[1];
  cinfo.comp_info[0].v_samp_factor = job->opt[2];
  cinfo.restart_in_rows = job->opt[3];
  if (job->opt[4]) jpeg_simple_progression(&cinfo);
  cinfo.arith_code = job->opt[5] ? TRUE : FALSE;
  jpeg_start_compress(&cinfo, TRUE);
  size_t stride = (size_t)job->width * 3;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = (JSAMPROW)(job->rgb + (size_t)cinfo.next_scanline * stride);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return 0;
}

static void free_jpeg_output(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static napi_value js_encode(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  EncodeJob job;
  memset(&job, 0, sizeof job);
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value backing;
  uint32_t w = 0, h = 0;
  bool ok = argc == 4 && napi_get_typedarray_info(env, argv[0], &type, &length, &data, &backing, &offset) == napi_ok &&
            type == napi_uint8_array && napi_get_value_uint32(env, argv[1], &w) == napi_ok &&
            napi_get_value_uint32(env, argv[2], &h) == napi_ok && w > 0 && h > 0 && length == (size_t)w * h * 3;
  napi_typedarray_type otype;
  size_t olength;
  void *odata;
  ok = ok && napi_get_typedarray_info(env, argv[3], &otype, &olength, &odata, &backing, &offset) == napi_ok &&
       otype == napi_int32_array && olength == 7;
  if (!ok) {
    napi_throw_type_error(env, NULL, "encode(rgb, width, height, Int32Array(7)) with rgb of width × height × 3 bytes");
    return NULL;
  }
  job.rgb = data;
  job.width = w;
  job.height = h;
  memcpy(job.opt, odata, sizeof job.opt);
  ErrorState err;
  if (encode(&job, &err) != 0) {
    free(job.out);
    napi_throw_error(env, "ERR_JPEG_ENCODE", err.message);
    return NULL;
  }
  napi_value ab, result;
  napi_create_external_arraybuffer(env, job.out, job.out_length, free_jpeg_output, NULL, &ab);
  napi_create_typedarray(env, napi_uint8_array, job.out_length, ab, 0, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "decode", NAPI_AUTO_LENGTH, js_decode, NULL, &fn);
  napi_set_named_property(env, exports, "decode", fn);
  napi_create_function(env, "encode", NAPI_AUTO_LENGTH, js_encode, NULL, &fn);
  napi_set_named_property(env, exports, "encode", fn);
  napi_value version;
  napi_create_int32(env, JPEG_LIB_VERSION, &version);
  napi_set_named_property(env, exports, "jpegLibVersion", version);
  return exports;
}

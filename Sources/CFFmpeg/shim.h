#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/display.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

// Function-like macros that Swift cannot import.
static inline int mm_averror(int e) { return AVERROR(e); }
static inline int mm_averror_eof(void) { return AVERROR_EOF; }
static inline int64_t mm_av_nopts_value(void) { return AV_NOPTS_VALUE; }

// FFmpeg logs to stderr by default, and library code must not print. This callback keeps the
// calling thread's last error-level message instead, so that errors can quote FFmpeg's own reason
// (for example "moov atom not found"). It is C because av_log callbacks take a va_list.
// The buffer lives inside a function because Swift's importer emits header functions, not header
// variables.
enum { mm_log_message_size = 512 };

static inline char *mm_log_buffer(void) {
  static _Thread_local char message[mm_log_message_size];
  return message;
}

static void mm_log_callback(void *context, int level, const char *format, va_list arguments) {
  (void)context;
  if (level > AV_LOG_ERROR) return;
  char line[mm_log_message_size];
  vsnprintf(line, sizeof line, format, arguments);
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' ')) line[--n] = 0;
  if (n > 0) memcpy(mm_log_buffer(), line, n + 1);
}

static inline void mm_log_capture_install(void) { av_log_set_callback(mm_log_callback); }
static inline const char *mm_log_last_message(void) { return mm_log_buffer(); }
static inline void mm_log_clear(void) { mm_log_buffer()[0] = 0; }

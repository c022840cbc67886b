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

// Function-like macros that Swift cannot import.
static inline int mm_averror(int e) { return AVERROR(e); }
static inline int mm_averror_eof(void) { return AVERROR_EOF; }
static inline int64_t mm_av_nopts_value(void) { return AV_NOPTS_VALUE; }

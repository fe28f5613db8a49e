/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The module's headers, one per feature, in the order their types need:
 * each .c file includes this one.
 */

#ifndef _NGX_HTTP_HELICONE_MODULE_H_INCLUDED_
#define _NGX_HTTP_HELICONE_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <helicone_core.h>
#include <helicone_json.h>
#include <helicone_sse.h>
#include <helicone_usage.h>
#include <helicone_buf.h>
#include <helicone_translate_anthropic.h>
#include <helicone_translate_responses_anthropic.h>
#include <helicone_cost.h>
#include <helicone_tokenlimit.h>
#include <helicone_policy.h>
#include <helicone_ratelimit.h>


typedef struct ngx_http_helicone_ctx_s          ngx_http_helicone_ctx_t;
typedef struct ngx_http_helicone_provider_s     ngx_http_helicone_provider_t;
typedef struct ngx_http_helicone_dialect_s      ngx_http_helicone_dialect_t;
typedef struct ngx_http_helicone_translator_s   ngx_http_helicone_translator_t;
typedef struct ngx_http_helicone_store_s        ngx_http_helicone_store_t;
typedef struct ngx_http_helicone_store_redis_s  ngx_http_helicone_store_redis_t;
typedef struct ngx_http_helicone_wait_s         ngx_http_helicone_wait_t;
typedef struct ngx_http_helicone_key_memo_s     ngx_http_helicone_key_memo_t;


#include "ngx_http_helicone_sink.h"
#include "ngx_http_helicone_conf.h"
#include "ngx_http_helicone_error.h"
#include "ngx_http_helicone_providers.h"
#include "ngx_http_helicone_api.h"
#include "ngx_http_helicone_plan.h"
#include "ngx_http_helicone_dialect.h"
#include "ngx_http_helicone_attempt.h"
#include "ngx_http_helicone_headers.h"
#include "ngx_http_helicone_auth.h"
#include "ngx_http_helicone_tokenlimit.h"
#include "ngx_http_helicone_cache.h"
#include "ngx_http_helicone_ratelimit.h"
#include "ngx_http_helicone_response.h"
#include "ngx_http_helicone_cost.h"
#include "ngx_http_helicone_event.h"
#include "ngx_http_helicone_handler.h"
#include "ngx_http_helicone_metrics.h"
#include "ngx_http_helicone_cors.h"
#include "ngx_http_helicone_store.h"
#include "ngx_http_helicone_ctx.h"


#endif /* _NGX_HTTP_HELICONE_MODULE_H_INCLUDED_ */

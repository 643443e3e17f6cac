/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AF_TLSH tracepoints: one per step of a request's life.
 *
 *	tlsh_queued	a consumer's request went to the listener's queue
 *	tlsh_no_agent	a request was refused: no listener (-ESRCH)
 *	tlsh_accepted	the agent accepted the request
 *	tlsh_getsockopt	the agent read a parameter (err: the result)
 *	tlsh_report	the agent reported the outcome (TLSH_RESULT)
 *	tlsh_timed_out	the kernel's timeout expired
 *	tlsh_cancelled	the consumer withdrew the request
 *	tlsh_done	the consumer's done callback is called
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM tlsh

#if !defined(_TLSH_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TLSH_TRACE_H

#include <linux/tracepoint.h>
#include "internal.h"

DECLARE_EVENT_CLASS(tlsh_req_class,
		    TP_PROTO(const struct tlsh_req *req),
		    TP_ARGS(req),
		    TP_STRUCT__entry(__field(u64, id)
				     __field(u32, type)),
		    TP_fast_assign(__entry->id = req->tr_id;
				   __entry->type = req->tr_type;),
		    TP_printk("id=%llu type=%u", __entry->id, __entry->type)
);

DEFINE_EVENT(tlsh_req_class, tlsh_accepted,
	     TP_PROTO(const struct tlsh_req *req),
	     TP_ARGS(req));

DEFINE_EVENT(tlsh_req_class, tlsh_timed_out,
	     TP_PROTO(const struct tlsh_req *req),
	     TP_ARGS(req));

DEFINE_EVENT(tlsh_req_class, tlsh_cancelled,
	     TP_PROTO(const struct tlsh_req *req),
	     TP_ARGS(req));

TRACE_EVENT(tlsh_queued,
	    TP_PROTO(const struct tlsh_req *req, int family),
	    TP_ARGS(req, family),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u32, type)
			     __field(int, family)
			     __field(u32, timeout_ms)),
	    TP_fast_assign(__entry->id = req->tr_id;
			   __entry->type = req->tr_type;
			   __entry->family = family;
			   __entry->timeout_ms = req->tr_timeout_ms;),
	    TP_printk("id=%llu type=%u family=%d timeout_ms=%u",
		      __entry->id, __entry->type, __entry->family,
		      __entry->timeout_ms)
);

TRACE_EVENT(tlsh_no_agent,
	    TP_PROTO(u32 type, int family),
	    TP_ARGS(type, family),
	    TP_STRUCT__entry(__field(u32, type)
			     __field(int, family)),
	    TP_fast_assign(__entry->type = type;
			   __entry->family = family;),
	    TP_printk("type=%u family=%d", __entry->type, __entry->family)
);

TRACE_EVENT(tlsh_getsockopt,
	    TP_PROTO(const struct tlsh_req *req, int optname, int err),
	    TP_ARGS(req, optname, err),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(int, optname)
			     __field(int, err)),
	    TP_fast_assign(__entry->id = req->tr_id;
			   __entry->optname = optname;
			   __entry->err = err;),
	    TP_printk("id=%llu optname=%d err=%d",
		      __entry->id, __entry->optname, __entry->err)
);

DECLARE_EVENT_CLASS(tlsh_status_class,
		    TP_PROTO(const struct tlsh_req *req, int status,
			     key_serial_t peerid),
		    TP_ARGS(req, status, peerid),
		    TP_STRUCT__entry(__field(u64, id)
				     __field(int, status)
				     __field(key_serial_t, peerid)),
		    TP_fast_assign(__entry->id = req->tr_id;
				   __entry->status = status;
				   __entry->peerid = peerid;),
		    TP_printk("id=%llu status=%d peerid=%d",
			      __entry->id, __entry->status, __entry->peerid)
);

DEFINE_EVENT(tlsh_status_class, tlsh_report,
	     TP_PROTO(const struct tlsh_req *req, int status,
		      key_serial_t peerid),
	     TP_ARGS(req, status, peerid));

DEFINE_EVENT(tlsh_status_class, tlsh_done,
	     TP_PROTO(const struct tlsh_req *req, int status,
		      key_serial_t peerid),
	     TP_ARGS(req, status, peerid));

#endif /* _TLSH_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>

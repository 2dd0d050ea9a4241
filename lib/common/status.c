/* status.c - status codes, the thread-local error detail, version. */
#include <stdio.h>
#include <string.h>

#include "common/internal.h"

/* Room for a path, an offset and a dimension; longer messages are cut. */
enum { AE_ERROR_DETAIL_MAX = 512 };

static _Thread_local char last_error[AE_ERROR_DETAIL_MAX];

unsigned ae_version_number(void)
{
    return AE_VERSION_NUMBER;
}

const char *ae_version_string(void)
{
    return AE_VERSION_STRING;
}

const char *ae_status_message(ae_status status)
{
    switch (status) {
#define AE_STATUS_MESSAGE_(name, value, message)                               \
    case name:                                                                 \
        return message;
        AE_STATUS_LIST(AE_STATUS_MESSAGE_)
#undef AE_STATUS_MESSAGE_
    }
    return "unknown status code";
}

const char *ae_status_name(ae_status status)
{
    switch (status) {
#define AE_STATUS_NAME_(name, value, message)                                  \
    case name:                                                                 \
        return #name;
        AE_STATUS_LIST(AE_STATUS_NAME_)
#undef AE_STATUS_NAME_
    }
    return "AE_UNKNOWN_STATUS";
}

const char *ae_last_error(void)
{
    return last_error;
}

ae_status ae_set_last_error(ae_status status, const char *message)
{
    snprintf(last_error, sizeof last_error, "%s",
             message != NULL ? message : ae_status_message(status));
    return status;
}

void ae__clear_error(void)
{
    last_error[0] = '\0';
}

ae_status ae__fail(ae_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (n < 0)
        snprintf(last_error, sizeof last_error, "%s",
                 ae_status_message(status));
    return status;
}

ae_status ae__fail_context(ae_status status, const char *fmt, ...)
{
    /* Copied first: ae__fail writes the buffer ae_last_error() returns. */
    char inner[AE_ERROR_DETAIL_MAX], context[AE_ERROR_DETAIL_MAX];
    snprintf(inner, sizeof inner, "%s", last_error);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    return ae__fail(status, "%s: %s", context, inner);
}

ae_status ae__fail_io(const char *what, const char *path, int err)
{
    char reason[128];
    if (strerror_r(err, reason, sizeof reason) != 0)
        snprintf(reason, sizeof reason, "error %d", err);
    return ae__fail(AE_ERR_IO, "cannot %s %s: %s", what, path, reason);
}

/* address.h - the one parser of a "HOST:PORT" listen or connect address: HOST a dotted IPv4 address
 * or "localhost", PORT 0..65535 in decimal digits. The config validates gateway.listen with it and
 * the gateway and `tapedeck feed` bind and connect with what it gives. */
#ifndef TD_ADDRESS_H
#define TD_ADDRESS_H

#include <netinet/in.h>

#include "core/err.h"

/* Parses text into addr (may be NULL to validate only). TD_ERR_INVALID with detail ("listen:
 * expected ...") otherwise. */
td_err_t td_address_parse(const char *text, struct sockaddr_in *addr, char *errbuf, size_t errlen) TD_WUR;

#endif

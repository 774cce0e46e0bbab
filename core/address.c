/* address.c - see address.h. */
#include "core/address.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

td_err_t td_address_parse(const char *text, struct sockaddr_in *addr, char *errbuf, size_t errlen)
{
    const char *colon = strrchr(text, ':');
    char host[64];
    if (!colon || colon == text || (size_t)(colon - text) >= sizeof host)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "listen: expected HOST:PORT, found '%s'", text);
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    const char *port_text = colon + 1;
    size_t digits = strlen(port_text);
    unsigned long port = strtoul(port_text, NULL, 10);
    if (digits == 0 || digits > 5 || strspn(port_text, "0123456789") != digits || port > 65535)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "listen: expected a port 0..65535, found '%s'", port_text);
    struct sockaddr_in parsed;
    memset(&parsed, 0, sizeof parsed);
    parsed.sin_family = AF_INET;
    parsed.sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &parsed.sin_addr) != 1)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "listen: expected an IPv4 address, found '%s'", host);
    if (addr)
        *addr = parsed;
    return TD_OK;
}

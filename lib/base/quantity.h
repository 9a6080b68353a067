/*
 * Kubernetes resource quantities ("100m", "1", "0.5", "2k", "128Mi", "1G",
 * "1e3", "129M"), the grammar of k8s.io/apimachinery resource.Quantity:
 *
 *   quantity  ::= [sign] number suffix
 *   number    ::= digits | digits "." [digits] | "." digits
 *   suffix    ::= "" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E"
 *               | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
 *               | ("e" | "E") [sign] digits        (a decimal exponent)
 *
 * "E" alone is exa (1e18); "E3" is an exponent. No blanks anywhere. Used by
 * collector-pods (requests and limits) and meant for collector-configz
 * (eviction thresholds such as "100Mi").
 */
#ifndef NRO_QUANTITY_H
#define NRO_QUANTITY_H

#include <stddef.h>

/* Parses s[0..n) (not necessarily NUL-terminated) as a quantity into *out,
 * in base units: cores for cpu ("100m" -> 0.1), bytes for memory ("128Mi"
 * -> 134217728). The result is the correctly rounded double of the exact
 * decimal value (digits past the 19th significant one are dropped).
 * Returns 0, or -1 (out untouched) when s is not a quantity or the value
 * is not finite. Allocates nothing. */
int nro_quantity_parse(const char *s, size_t n, double *out);

#endif

/* Reading a small file whole (certificates, tokens, fixtures), with a cap. */
#ifndef NRO_FILE_H
#define NRO_FILE_H

#include <stddef.h>

/* Reads the regular file at path, at most max bytes, into a NUL-terminated
 * heap buffer the caller frees. Returns 0, or -1 with errno (EFBIG past
 * max, EISDIR for a non-regular file); *out is untouched on failure. */
int nro_file_read(const char *path, size_t max, char **out, size_t *outlen);

#endif

/*
 * make bench: what each libcurl TLS flavour costs a poller in memory. GETs
 * URL over HTTPS (verified against CA) N times on one handle, as a
 * collector does, then prints its own PSS and private memory
 * (/proc/self/smaps_rollup). Linked once per flavour (Makefile).
 * usage: curl_tls URL CA N
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	*(size_t *)arg += sz * n;
	return sz * n;
}

static long rollup(const char *key)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long sum = 0, v;
	size_t n = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, key, n) == 0 && (v = strtol(line + n, NULL, 10)) > 0)
			sum += v;
	if (f)
		fclose(f);
	return sum;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: curl_tls URL CA N\n");
		return 100;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *h = curl_easy_init();
	size_t bytes = 0;
	curl_easy_setopt(h, CURLOPT_URL, argv[1]);
	curl_easy_setopt(h, CURLOPT_CAINFO, argv[2]);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &bytes);
	char *end;
	long n = strtol(argv[3], &end, 10);
	if (*end || n < 1 || n > 100000) {
		fprintf(stderr, "curl_tls: bad poll count %s\n", argv[3]);
		return 100;
	}
	int ok = 0;
	for (long i = 0; i < n; i++)
		ok += curl_easy_perform(h) == CURLE_OK;
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	long pss = rollup("Pss:");
	long priv = rollup("Private_Clean:") + rollup("Private_Dirty:");
	printf("%-28s %d/%ld polls ok, PSS %5ld kB, private %5ld kB\n", v->ssl_version, ok, n, pss,
	       priv);
	curl_easy_cleanup(h);
	curl_global_cleanup();
	return ok == n ? 0 : 1;
}

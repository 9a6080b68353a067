/*
 * The replay driver: a main for a fuzz target without libFuzzer, so the
 * saved corpora and crash reproducers run as a regression test under any
 * compiler with ASan/UBSan. Arguments are files or directories (every
 * regular file in one, in name order); each is fed to LLVMFuzzerTestOneInput
 * once. Prints "replayed N inputs" and exits 0; 1 if an input cannot be read.
 * A crash or sanitizer report ends the process on its own, non-zero, after
 * a "replay: FILE" line naming the input.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define INPUT_MAX (16u << 20) /* no corpus file is near this */

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) != 0) {
		perror(path);
		if (f)
			fclose(f);
		return -1;
	}
	size_t n = (size_t)st.st_size;
	/* exactly the input's size, so ASan sees a read one past its end */
	uint8_t *in = st.st_size <= INPUT_MAX ? malloc(n ? n : 1) : NULL;
	int bad = !in || fread(in, 1, n, f) != n;
	fclose(f);
	if (bad) {
		fprintf(stderr, "%s: unreadable or larger than %u bytes\n", path, INPUT_MAX);
		free(in);
		return -1;
	}
	fprintf(stderr, "replay: %s\n", path);
	LLVMFuzzerTestOneInput(in, n);
	free(in);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Replays every regular file in dir; returns how many, or -1. */
static long replay_dir(const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, by_name);
	if (n < 0) {
		perror(dir);
		return -1;
	}
	long done = 0;
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
		if (ents[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path) != 0)
				done = -1;
			else if (done >= 0)
				done++;
		}
		free(ents[i]);
	}
	free(ents);
	return done;
}

int main(int argc, char **argv)
{
	long total = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		long n = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? replay_dir(argv[i])
				: replay_file(argv[i]) == 0 ? 1 : -1;
		if (n < 0)
			return 1;
		total += n;
	}
	printf("replayed %ld inputs\n", total);
	return 0;
}

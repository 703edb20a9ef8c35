/* pdf_ocr_threads.c — one OpenMP thread for Tesseract (see pdf_ocr.h).
 *
 * libgomp reads OMP_THREAD_LIMIT in its constructor, when the program loads,
 * and offers no call to change the limit later; Tesseract's LSTM asks for 4
 * threads per parallel loop. A function in the executable's .preinit_array
 * runs before every shared library's initialiser, so setting the variable
 * there makes the limit 1 for the whole process (and for the extraction
 * children it forks), unless the environment already set a limit. Linked
 * into every executable built from these objects (precis, the tests). */
#include <stdlib.h>

static void limit_openmp_threads(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)argv;
    (void)envp;
    setenv("OMP_THREAD_LIMIT", "1", 0);
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit_limit_openmp)(int, char **, char **) =
    limit_openmp_threads;

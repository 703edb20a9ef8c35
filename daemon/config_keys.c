/* config_keys.c — every precis configuration key, its type, default and meaning.
 * This table is the single source for validation, `precis config defaults`
 * and the operator documentation. librdkafka's own properties are not listed:
 * any dotted key in [kafka] is handed to librdkafka, which validates it. */
#include "daemon/config.h"

const config_key_spec config_keys[] = {
    {"kafka", "jobs_topic", CFG_STRING, "precis.jobs", "topic the daemon consumes jobs from"},
    {"kafka", "dlq_topic", CFG_STRING, "precis.jobs.dlq", "dead-letter topic for jobs that failed permanently"},
    {"kafka", "results_topic", CFG_STRING, "precis.results", "topic for job-completed events"},
    {"postgres", "conninfo", CFG_STRING, "", "libpq connection string or URI; empty uses the PG* environment variables"},
    {"engine", "model", CFG_STRING, NULL, "path of the GGUF model file"},
    {"engine", "threads", CFG_INT, "0", "compute threads; 0 = one per core"},
    {"engine", "ctx_size", CFG_INT, "4096", "context length in tokens (capped by the model's)"},
    {"engine", "chat_template", CFG_STRING, "auto", "auto (from the model) or llama2, llama3, chatml, zephyr"},
    {"engine", "pack_weights", CFG_STRING, "auto", "auto, on or off: weights repacked at load for batched decode (as much memory again as the weights; auto: when that fits in half the free memory)"},
    {"engine", "parallel", CFG_INT, "4", "answers generated at once (sequence slots, continuous batching); each slot has its own KV cache"},
    {"engine", "draft", CFG_BOOL, "true", "prompt-lookup drafts: a forward pass also checks tokens guessed from the prompt (same answers, fewer passes when they repeat it); false = off, as --no-draft"},
    {"pipeline", "input_root", CFG_STRING, NULL, "jobs may only read document paths under this directory"},
    {"pipeline", "analyses", CFG_STRING, "summary", "analyses run when a job names none (comma-separated)"},
    {"pipeline", "prompts_dir", CFG_STRING, NULL, "directory of the prompt files (NAME.json); unset = prompts/ next to the binary, else PREFIX/share/precis/prompts"},
    {"pipeline", "extract_timeout", CFG_INT, "30", "wall-clock seconds an extraction may take"},
    {"pipeline", "extract_cpu", CFG_INT, "60", "CPU seconds an extraction may use"},
    {"pipeline", "extract_memory_mb", CFG_INT, "1024", "address-space limit of the extraction process (MiB)"},
    {"pipeline", "ocr_page_timeout", CFG_INT, "20", "wall-clock and CPU seconds each page read by OCR adds to extract_timeout and extract_cpu"},
    {"pipeline", "ocr_max_timeout", CFG_INT, "600", "at most this many seconds added by OCR'd pages to one extraction"},
    {"pipeline", "ocr", CFG_STRING, "auto", "OCR (Tesseract) of PDF pages: auto = the pages without a text layer, force = every page, off = none (such pages are reported)"},
    {"pipeline", "ocr_languages", CFG_STRING, "eng", "Tesseract languages for OCR joined by + (eng+fra); each needs its package (tesseract-ocr-fra)"},
    {"pipeline", "ocr_dpi", CFG_INT, "300", "resolution pages are rendered at for OCR (70..600)"},
    {"pipeline", "shutdown_grace", CFG_INT, "60", "seconds the running jobs may take to finish after SIGTERM"},
    {"pipeline", "jobs_in_flight", CFG_INT, "0", "jobs serve and run handle at once, their model calls sharing the engine's batch; 0 = [engine] parallel"},
    {"pipeline", "max_attempts", CFG_INT, "3", "attempts before a job is dead-lettered"},
    {"pipeline", "job_timeout", CFG_INT, "1800", "seconds one attempt of a job may take (0 = no limit); past it the job fails with class timeout and is retried while attempts are below max_attempts"},
    {"consultation", "candidate_threshold", CFG_INT, "20", "a collection with an approved theme set: once this many of its responses fit no theme (unassigned), candidate new themes are proposed from them for review; 0 = never"},
    {"metrics", "enabled", CFG_BOOL, "true", "serve /metrics, /healthz and /readyz"},
    {"metrics", "listen", CFG_STRING, "127.0.0.1:9464", "address:port of the metrics endpoint"},
    {"schedule.*", "cron", CFG_STRING, NULL, "5-field cron expression (minute hour day month weekday)"},
    {"schedule.*", "collection", CFG_STRING, NULL, "collection the scheduled analysis runs over"},
    {"schedule.*", "analysis", CFG_STRING, "digest", "analysis to run (only digest so far)"},
    {"schedule.*", "window", CFG_STRING, NULL, "period each run covers (90m, 24h, 7d); unset = since the previous fire time"},
    {"schedule.*", "timezone", CFG_STRING, "UTC", "time zone the cron fields are read in (UTC, Europe/London, ...)"},
    {NULL, NULL, CFG_STRING, NULL, NULL},
};

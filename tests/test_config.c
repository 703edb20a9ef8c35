/* test_config.c — config parsing, validation with FILE:LINE, env overrides, masking. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "tests/support.h"

static char *print_to_string(const config *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    config_print(cfg, f);
    fclose(f);
    return buf;
}

static char *const no_env[] = {NULL};

Test(config, good_file_and_defaults)
{
    char *path = test_write_tmp("good.conf",
                                "# comment\n"
                                "[engine]\n"
                                "model = /models/llama.gguf\n"
                                "threads = 2\n"
                                "\n"
                                "[kafka]\n"
                                "bootstrap.servers = broker:9092\n"
                                "jobs_topic = my.jobs\n"
                                "[schedule.nightly]\n"
                                "cron = 0 2 * * *\n"
                                "collection = research\n");
    config *cfg;
    perr err;
    cr_assert_eq(config_load(&cfg, path, no_env, &err), 0, "%s", err.msg);
    cr_assert_str_eq(config_get(cfg, "engine", "model"), "/models/llama.gguf");
    long threads = 0;
    cr_assert_eq(config_get_int(cfg, "engine", "threads", &threads, &err), 0);
    cr_assert_eq(threads, 2);
    cr_assert_str_eq(config_get(cfg, "kafka", "jobs_topic"), "my.jobs");
    cr_assert_str_eq(config_get(cfg, "kafka", "dlq_topic"), "precis.jobs.dlq", "default kept");
    cr_assert_str_eq(config_get(cfg, "engine", "ctx_size"), "4096");
    cr_assert_eq(config_kafka_count(cfg), 1);
    const char *k, *v;
    config_kafka_at(cfg, 0, &k, &v);
    cr_assert_str_eq(k, "bootstrap.servers");
    cr_assert_str_eq(v, "broker:9092");
    cr_assert_eq(config_schedule_count(cfg), 1);
    cr_assert_str_eq(config_schedule_name(cfg, 0), "nightly");
    cr_assert_str_eq(config_get(cfg, "schedule.nightly", "cron"), "0 2 * * *");
    cr_assert_str_eq(config_get(cfg, "schedule.nightly", "analysis"), "digest");
    config_free(cfg);
    free(path);
}

Test(config, no_file_means_defaults)
{
    config *cfg;
    perr err;
    /* path NULL falls back to /etc/precis/precis.conf only if it exists */
    cr_assert_eq(config_load(&cfg, NULL, no_env, &err), 0, "%s", err.msg);
    cr_assert_str_eq(config_get(cfg, "kafka", "jobs_topic"), "precis.jobs");
    cr_assert_null(config_get(cfg, "engine", "model"));
    config_free(cfg);
}

static void assert_load_fails(const char *text, const char *expect)
{
    char *path = test_write_tmp("bad.conf", text);
    config *cfg = NULL;
    perr err = {{0}};
    cr_assert_eq(config_load(&cfg, path, no_env, &err), -1, "loaded although bad: %s", text);
    cr_assert_null(cfg);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s:%s", path, expect) > 0);
    cr_assert(strstr(err.msg, want), "error '%s' lacks '%s'", err.msg, want);
    free(want);
    free(path);
}

Test(config, unknown_key_names_file_and_line)
{
    assert_load_fails("[engine]\nmodel = x\n\nmodle = y\n", "4: unknown key 'modle' in section [engine]");
}

Test(config, unknown_section_names_file_and_line)
{
    assert_load_fails("[engine]\nmodel = x\n[enigne]\nthreads = 1\n", "3: unknown section [enigne]");
}

Test(config, unknown_kafka_property_rejected_by_librdkafka)
{
    assert_load_fails("[kafka]\nbootstrap.servers = a:1\nbootstrap.srevers = b:2\n",
                      "3: unknown Kafka property 'bootstrap.srevers'");
}

Test(config, bad_integer_and_malformed_line)
{
    assert_load_fails("[engine]\nthreads = many\n", "2: threads must be an integer");
    assert_load_fails("[engine]\nthis line is junk\n", "2: not a section");
    assert_load_fails("[schedule.]\ncron = * * * * *\n", "1: unknown section [schedule.]");
}

Test(config, environment_overrides_file)
{
    char *path = test_write_tmp("env.conf", "[engine]\nmodel = /from/file.gguf\n[schedule.daily]\ncron = 0 1 * * *\n");
    char *env[] = {"PRECIS_ENGINE_MODEL=/from/env.gguf", "PRECIS_PIPELINE_MAX_ATTEMPTS=7",
                   "PRECIS_KAFKA_BOOTSTRAP_SERVERS=envbroker:9092", "PRECIS_KAFKA_JOBS_TOPIC=env.jobs",
                   "PRECIS_SCHEDULE_DAILY_COLLECTION=envcoll", "UNRELATED=1", NULL};
    config *cfg;
    perr err;
    cr_assert_eq(config_load(&cfg, path, env, &err), 0, "%s", err.msg);
    cr_assert_str_eq(config_get(cfg, "engine", "model"), "/from/env.gguf");
    cr_assert_str_eq(config_get(cfg, "pipeline", "max_attempts"), "7");
    cr_assert_str_eq(config_get(cfg, "kafka", "bootstrap.servers"), "envbroker:9092");
    cr_assert_str_eq(config_get(cfg, "kafka", "jobs_topic"), "env.jobs");
    cr_assert_str_eq(config_get(cfg, "schedule.daily", "collection"), "envcoll");
    char *printed = print_to_string(cfg);
    cr_assert(strstr(printed, "# env PRECIS_ENGINE_MODEL"), "origin shown: %s", printed);
    free(printed);
    config_free(cfg);
    free(path);
}

Test(config, bad_environment_value_is_an_error)
{
    char *env[] = {"PRECIS_ENGINE_THREADS=lots", NULL};
    config *cfg;
    perr err;
    cr_assert_eq(config_load(&cfg, NULL, env, &err), -1);
    cr_assert(strstr(err.msg, "PRECIS_ENGINE_THREADS"), "%s", err.msg);
    char *env2[] = {"PRECIS_KAFKA_NOT_A_PROPERTY=1", NULL};
    cr_assert_eq(config_load(&cfg, NULL, env2, &err), -1);
    cr_assert(strstr(err.msg, "not.a.property"), "%s", err.msg);
}

Test(config, secrets_are_masked_when_printed)
{
    char *path = test_write_tmp("secret.conf",
                                "[postgres]\nconninfo = host=db user=precis password=hunter2 dbname=p\n"
                                "[kafka]\nsasl.password = kafkapass\nsasl.username = alice\n");
    char *env[] = {"PRECIS_KAFKA_SSL_KEY_PASSWORD=keypass", NULL};
    config *cfg;
    perr err;
    cr_assert_eq(config_load(&cfg, path, env, &err), 0, "%s", err.msg);
    char *printed = print_to_string(cfg);
    cr_assert_null(strstr(printed, "hunter2"), "postgres password leaked:\n%s", printed);
    cr_assert_null(strstr(printed, "kafkapass"), "kafka password leaked:\n%s", printed);
    cr_assert_null(strstr(printed, "keypass"), "env password leaked:\n%s", printed);
    cr_assert(strstr(printed, "password=********"), "%s", printed);
    cr_assert(strstr(printed, "sasl.username = alice"), "non-secret shown: %s", printed);
    cr_assert(strstr(printed, "user=precis"), "%s", printed);
    free(printed);
    config_free(cfg);
    free(path);
}

Test(config, uri_conninfo_password_masked)
{
    char *path = test_write_tmp("uri.conf", "[postgres]\nconninfo = postgresql://bob:topsecret@db:5433/precis\n");
    config *cfg;
    perr err;
    cr_assert_eq(config_load(&cfg, path, no_env, &err), 0, "%s", err.msg);
    char *printed = print_to_string(cfg);
    cr_assert_null(strstr(printed, "topsecret"), "%s", printed);
    cr_assert(strstr(printed, "postgresql://bob:********@db:5433/precis"), "shown as written: %s", printed);
    free(printed);
    config_free(cfg);
    free(path);
}

/* Every libpq secret (PQconndefaults marks them), not only "password". */
Test(config, every_libpq_secret_in_conninfo_masked)
{
    char *path = test_write_tmp("ssl.conf", "[postgres]\nconninfo = host=db user=precis sslpassword=keyphrase "
                                            "password='two words' sslmode=verify-full dbname=p\n");
    config *cfg;
    perr err;
    cr_assert_eq(config_load(&cfg, path, no_env, &err), 0, "%s", err.msg);
    char *printed = print_to_string(cfg);
    cr_assert_null(strstr(printed, "keyphrase"), "sslpassword leaked:\n%s", printed);
    cr_assert_null(strstr(printed, "two words"), "%s", printed);
    cr_assert(strstr(printed, "host=db user=precis sslpassword=******** password='********' sslmode=verify-full"),
              "%s", printed);
    free(printed);
    config_free(cfg);
    char *env[] = {"PRECIS_POSTGRES_CONNINFO=postgres://bob@db/p?sslpassword=uriphrase&sslmode=require", NULL};
    cr_assert_eq(config_load(&cfg, NULL, env, &err), 0, "%s", err.msg);
    printed = print_to_string(cfg);
    cr_assert_null(strstr(printed, "uriphrase"), "%s", printed);
    cr_assert(strstr(printed, "postgres://bob@db/p?sslpassword=********&sslmode=require"), "%s", printed);
    free(printed);
    config_free(cfg);
    free(path);
}

Test(config, mistyped_environment_variable_is_an_error)
{
    char *env[] = {"PRECIS_ENGINE_MODLE=/x.gguf", NULL};
    config *cfg;
    perr err;
    cr_assert_eq(config_load(&cfg, NULL, env, &err), -1);
    cr_assert(strstr(err.msg, "PRECIS_ENGINE_MODLE: no such configuration key"), "%s", err.msg);
    char *env2[] = {"PRECIS_SCHEDULE_NIGHTLY_CRON=0 1 * * *", NULL};
    cr_assert_eq(config_load(&cfg, NULL, env2, &err), -1, "no [schedule.nightly] section");
    cr_assert(strstr(err.msg, "[schedule.NAME]"), "%s", err.msg);
    /* Non-config PRECIS_ variables are left alone. */
    char *env3[] = {"PRECIS_LOG_LEVEL=debug", "PRECIS_MODEL=/m.gguf", "PRECIS_TEST_MODELS=/x", NULL};
    cr_assert_eq(config_load(&cfg, NULL, env3, &err), 0, "%s", err.msg);
    config_free(cfg);
}

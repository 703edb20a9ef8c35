/* chat_template.c — recognising a model's chat format and producing it
 * (llama2, llama3, chatml, zephyr), with the positions of the template's
 * special-token markers so they alone become special tokens. */
#include "engine/tokenizer/chat_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

/* ------------------------------------------------------------ kinds */

static const char *const KIND_NAMES[] = { "unknown", "llama2", "llama3", "chatml", "zephyr" };

chat_template_kind chat_template_detect(const char *jinja)
{
    if (!jinja)
        return CHAT_TEMPLATE_UNKNOWN;
    if (strstr(jinja, "<|im_start|>"))
        return CHAT_TEMPLATE_CHATML;
    if (strstr(jinja, "<|start_header_id|>") && strstr(jinja, "<|end_header_id|>"))
        return CHAT_TEMPLATE_LLAMA3;
    if (strstr(jinja, "[INST]"))
        return CHAT_TEMPLATE_LLAMA2;
    if (strstr(jinja, "<|user|>"))
        return CHAT_TEMPLATE_ZEPHYR;
    return CHAT_TEMPLATE_UNKNOWN;
}

const char *chat_template_name(chat_template_kind kind)
{
    return kind >= CHAT_TEMPLATE_LLAMA2 && kind <= CHAT_TEMPLATE_ZEPHYR ? KIND_NAMES[kind]
                                                                        : KIND_NAMES[0];
}

int chat_template_by_name(const char *name, chat_template_kind *out, perr *err)
{
    for (int k = CHAT_TEMPLATE_LLAMA2; k <= CHAT_TEMPLATE_ZEPHYR; k++) {
        if (name && strcmp(name, KIND_NAMES[k]) == 0) {
            *out = (chat_template_kind)k;
            return 0;
        }
    }
    return perr_set(err, "unknown chat template \"%s\" (expected llama2, llama3, chatml or zephyr)",
                    name ? name : "(null)");
}

int chat_template_select(const tokenizer *t, const char *name, chat_template_kind *out,
                         perr *err)
{
    if (name && strcmp(name, "auto") != 0)
        return chat_template_by_name(name, out, err);
    *out = chat_template_detect(tokenizer_chat_template(t));
    if (*out == CHAT_TEMPLATE_UNKNOWN)
        *out = tokenizer_kind_of(t) == TOKENIZER_SPM ? CHAT_TEMPLATE_LLAMA2 : CHAT_TEMPLATE_CHATML;
    return 0;
}

/* ------------------------------------------------------ prompt builder */

typedef struct builder {
    chat_prompt p;
    size_t cap, span_cap;
    int failed;
} builder;

static void put(builder *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    char *text = grow_to(b->p.text, &b->cap, b->p.len + n + 1, 1, 256);
    if (!text) {
        b->failed = 1;
        return;
    }
    b->p.text = text;
    memcpy(b->p.text + b->p.len, s, n);
    b->p.len += n;
    b->p.text[b->p.len] = '\0';
}

static void put_str(builder *b, const char *s)
{
    put(b, s, strlen(s));
}

/* A special-token marker: written and remembered. */
static void put_special(builder *b, const char *s)
{
    if (b->failed)
        return;
    tokenizer_span *v = grow_to(b->p.specials, &b->span_cap, b->p.n_specials + 1, sizeof *v, 16);
    if (!v) {
        b->failed = 1;
        return;
    }
    b->p.specials = v;
    size_t at = b->p.len;
    put_str(b, s);
    b->p.specials[b->p.n_specials++] = (tokenizer_span){ at, strlen(s) };
}

static int is_trim_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void put_trimmed(builder *b, const char *s, size_t n)
{
    while (n > 0 && is_trim_space(s[0])) {
        s++;
        n--;
    }
    while (n > 0 && is_trim_space(s[n - 1]))
        n--;
    put(b, s, n);
}

static const char *content_of(const chat_message *m)
{
    return m->content ? m->content : "";
}

static int role_is(const chat_message *m, const char *role)
{
    return strcmp(m->role, role) == 0;
}

/* ------------------------------------------------------------ formats */

/* First turn with a system message: strip("<<SYS>>\nS\n<</SYS>>\n\n" + U). */
static void llama2_first_turn(builder *b, const char *sys, const char *user)
{
    char *joined = NULL;
    if (asprintf(&joined, "<<SYS>>\n%s\n<</SYS>>\n\n%s", sys, user) < 0) {
        b->failed = 1;
        return;
    }
    put_trimmed(b, joined, strlen(joined));
    free(joined);
}

static int format_llama2(builder *b, const chat_message *msgs, size_t n, perr *err)
{
    const char *sys = NULL;
    size_t i = 0;
    if (n > 0 && role_is(&msgs[0], "system"))
        sys = content_of(&msgs[i++]);
    if (i == n)
        return perr_set(err, "llama2 chat format: a user message is required");
    for (size_t turn = 0; i < n; i++, turn++) {
        const chat_message *m = &msgs[i];
        const char *want = turn % 2 == 0 ? "user" : "assistant";
        if (!role_is(m, want))
            return perr_set(err, "llama2 chat format: message %zu has role \"%s\" where \"%s\" "
                            "is expected (optional system, then user/assistant alternating)",
                            i, m->role, want);
        if (turn % 2 == 1) {
            put_str(b, " ");
            put_trimmed(b, content_of(m), strlen(content_of(m)));
            put_str(b, " ");
            put_special(b, "</s>");
            continue;
        }
        if (turn > 0)
            put_special(b, "<s>");
        put_str(b, "[INST] ");
        if (turn == 0 && sys)
            llama2_first_turn(b, sys, content_of(m));
        else
            put_trimmed(b, content_of(m), strlen(content_of(m)));
        put_str(b, " [/INST]");
    }
    return 0;
}

/* The formats made of one header per message: the header (opening marker,
 * role, closing text), the content, an end marker and a separator; a
 * generation prompt is the assistant's header alone. A marker is written as
 * a special token when its flag says so. */
typedef struct turn_format {
    const char *open;       /* before the role */
    int open_special;
    const char *close;      /* after the role */
    int close_special;
    const char *after;      /* after the header (plain) */
    int trim;               /* content stripped of surrounding white space */
    const char *end;        /* special, after the content */
    const char *sep;        /* plain, after the end marker */
} turn_format;

static const turn_format LLAMA3 = { "<|start_header_id|>", 1, "<|end_header_id|>", 1, "\n\n", 1,
                                    "<|eot_id|>", "" };
static const turn_format CHATML = { "<|im_start|>", 1, "\n", 0, "", 0, "<|im_end|>", "\n" };
static const turn_format ZEPHYR = { "<|", 0, "|>\n", 0, "", 0, "</s>", "\n" };

static void put_marker(builder *b, const char *s, int special)
{
    if (special)
        put_special(b, s);
    else
        put_str(b, s);
}

static void put_header(builder *b, const turn_format *f, const char *role)
{
    put_marker(b, f->open, f->open_special);
    put_str(b, role);
    put_marker(b, f->close, f->close_special);
    put_str(b, f->after);
}

static void format_turns(builder *b, const turn_format *f, const chat_message *msgs, size_t n, int gen)
{
    for (size_t i = 0; i < n; i++) {
        const char *content = content_of(&msgs[i]);
        put_header(b, f, msgs[i].role);
        if (f->trim)
            put_trimmed(b, content, strlen(content));
        else
            put_str(b, content);
        put_special(b, f->end);
        put_str(b, f->sep);
    }
    if (gen)
        put_header(b, f, "assistant");
}

static int check_roles(const chat_message *msgs, size_t n, perr *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *r = msgs[i].role;
        if (!r || (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant")))
            return perr_set(err, "message %zu has role \"%s\" (expected system, user or "
                            "assistant)", i, r ? r : "(null)");
    }
    return 0;
}

int chat_template_apply(chat_template_kind kind, const chat_message *msgs, size_t n_msgs,
                        int add_generation_prompt, chat_prompt *out, perr *err)
{
    memset(out, 0, sizeof *out);
    if (check_roles(msgs, n_msgs, err) < 0)
        return -1;
    builder b;
    memset(&b, 0, sizeof b);
    put(&b, "", 0);  /* an empty prompt is still a string */
    int rc = 0;
    switch (kind) {
    case CHAT_TEMPLATE_LLAMA2: rc = format_llama2(&b, msgs, n_msgs, err); break;
    case CHAT_TEMPLATE_LLAMA3: format_turns(&b, &LLAMA3, msgs, n_msgs, add_generation_prompt); break;
    case CHAT_TEMPLATE_CHATML: format_turns(&b, &CHATML, msgs, n_msgs, add_generation_prompt); break;
    case CHAT_TEMPLATE_ZEPHYR: format_turns(&b, &ZEPHYR, msgs, n_msgs, add_generation_prompt); break;
    default: rc = perr_set(err, "no chat template kind given"); break;
    }
    if (rc == 0 && b.failed)
        rc = perr_set(err, "out of memory formatting a chat prompt");
    if (rc < 0) {
        chat_prompt_free(&b.p);
        return -1;
    }
    *out = b.p;
    return 0;
}

void chat_prompt_free(chat_prompt *p)
{
    free(p->text);
    free(p->specials);
    memset(p, 0, sizeof *p);
}

int chat_prompt_encode(const tokenizer *t, const chat_prompt *p, int32_t **ids, size_t *n_ids,
                       perr *err)
{
    return tokenizer_encode_marked(t, p->text, p->len, 1, p->specials, p->n_specials, ids,
                                   n_ids, err);
}

/* ------------------------------------------------------------ stopping */

static const char *const STOP_NONE[] = { NULL };
static const char *const STOP_LLAMA2[] = { "</s>", "[INST]", NULL };
static const char *const STOP_LLAMA3[] = { "<|eot_id|>", "<|end_of_text|>", "<|start_header_id|>",
                                           NULL };
static const char *const STOP_CHATML[] = { "<|im_end|>", "<|im_start|>", "<|endoftext|>", NULL };
static const char *const STOP_ZEPHYR[] = { "</s>", "<|user|>", "<|system|>", NULL };

const char *const *chat_template_stop_strings(chat_template_kind kind)
{
    switch (kind) {
    case CHAT_TEMPLATE_LLAMA2: return STOP_LLAMA2;
    case CHAT_TEMPLATE_LLAMA3: return STOP_LLAMA3;
    case CHAT_TEMPLATE_CHATML: return STOP_CHATML;
    case CHAT_TEMPLATE_ZEPHYR: return STOP_ZEPHYR;
    default: return STOP_NONE;
    }
}

static size_t add_unique(int32_t id, int32_t *ids, size_t n, size_t cap)
{
    if (id < 0)
        return n;
    for (size_t i = 0; i < n && i < cap; i++)
        if (ids[i] == id)
            return n;
    if (n < cap)
        ids[n] = id;
    return n + 1;
}

size_t chat_template_stop_tokens(const tokenizer *t, chat_template_kind kind, int32_t *ids,
                                 size_t cap)
{
    size_t n = add_unique(tokenizer_eos(t), ids, 0, cap);
    n = add_unique(tokenizer_eot(t), ids, n, cap);
    for (const char *const *s = chat_template_stop_strings(kind); *s; s++)
        n = add_unique(tokenizer_find_special(t, *s), ids, n, cap);
    return n;
}

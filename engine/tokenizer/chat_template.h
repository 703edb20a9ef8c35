/* chat_template.h — turning a list of chat messages into a model prompt.
 *
 * We do not run Jinja. A model's tokenizer.chat_template is only used to
 * recognise which of four well-known formats it implements; the format is
 * then produced by C code. Kinds and their exact output (S, U, A = message
 * contents; "gen" = the add_generation_prompt suffix):
 *
 *   llama2  (Llama-2-chat; detected by "[INST]")
 *           "[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST] A1 </s><s>[INST] U2 [/INST]"
 *           The first turn's text is "<<SYS>>\n" S "\n<</SYS>>\n\n" U1 when
 *           a system message comes first, else U1; each turn's text and each
 *           answer are stripped of surrounding whitespace (as the official
 *           template's .strip()). Roles must be: optional system, then user
 *           and assistant alternating, starting with user. gen adds nothing
 *           (the prompt already ends in "[/INST]").
 *   llama3  (Llama-3-instruct; "<|start_header_id|>" and "<|end_header_id|>")
 *           "<|start_header_id|>ROLE<|end_header_id|>\n\n" trim(C) "<|eot_id|>"
 *           per message; gen = "<|start_header_id|>assistant<|end_header_id|>\n\n"
 *   chatml  ("<|im_start|>")
 *           "<|im_start|>ROLE\n" C "<|im_end|>\n" per message;
 *           gen = "<|im_start|>assistant\n"
 *   zephyr  ("<|user|>")
 *           "<|ROLE|>\n" C "</s>\n" per message; gen = "<|assistant|>\n"
 *
 * BOS: the formatted text NEVER starts with the BOS text. The official
 * llama2/llama3 templates begin with bos_token, but here (as in llama.cpp)
 * the BOS comes from tokenization: chat_prompt_encode() adds it when the
 * vocabulary's add_bos flag is set (true for Llama 2 and Llama 3). Later
 * BOS/EOS inside a llama2 history ("</s><s>") are part of the text.
 *
 * Special tokens: chat_template_apply() records where it wrote special-token
 * markers (the "</s>", "<s>", "<|eot_id|>", "<|im_start|>" ... above), and
 * chat_prompt_encode() turns only those into special tokens — a message
 * that contains "</s>" or "<|im_end|>" stays plain text (no injection).
 * With the Llama 2 vocabulary the result equals Meta's reference
 * tokenization: [BOS] sp("[INST] U1 [/INST] A1 ") [EOS] [BOS] sp("[INST] U2 [/INST]").
 * Whitespace trimming strips ASCII whitespace only.
 */
#ifndef PRECIS_CHAT_TEMPLATE_H
#define PRECIS_CHAT_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "engine/tokenizer/tokenizer.h"

typedef enum chat_template_kind {
    CHAT_TEMPLATE_UNKNOWN = 0,
    CHAT_TEMPLATE_LLAMA2,
    CHAT_TEMPLATE_LLAMA3,
    CHAT_TEMPLATE_CHATML,
    CHAT_TEMPLATE_ZEPHYR,
} chat_template_kind;

/* role: "system", "user" or "assistant"; content NULL counts as "". */
typedef struct chat_message {
    const char *role;
    const char *content;
} chat_message;

/* Kind implemented by a Jinja template string; UNKNOWN if none matches. */
chat_template_kind chat_template_detect(const char *jinja);

/* "llama2", "llama3", "chatml", "zephyr"; -1 (err names it) otherwise. */
int chat_template_by_name(const char *name, chat_template_kind *out, perr *err);
const char *chat_template_name(chat_template_kind kind);  /* "unknown" for UNKNOWN */

/* The kind to use with a tokenizer: the named one when name is neither NULL
 * nor "auto"; else detected from tokenizer.chat_template; else llama2 for
 * SPM vocabularies and chatml for the others. */
int chat_template_select(const tokenizer *t, const char *name, chat_template_kind *out,
                         perr *err);

/* A formatted prompt: text (NUL-terminated) and the spans where the
 * template put special-token markers, in order. */
typedef struct chat_prompt {
    char *text;
    size_t len;
    tokenizer_span *specials;
    size_t n_specials;
} chat_prompt;

int chat_template_apply(chat_template_kind kind, const chat_message *msgs, size_t n_msgs,
                        int add_generation_prompt, chat_prompt *out, perr *err);
void chat_prompt_free(chat_prompt *p);

/* Tokenize a formatted prompt: BOS (and EOS) as the vocabulary asks, the
 * template's markers as special tokens, everything else as plain text. */
int chat_prompt_encode(const tokenizer *t, const chat_prompt *p, int32_t **ids, size_t *n_ids,
                       perr *err);

/* NULL-terminated strings that end the assistant's turn when they appear in
 * generated text (the first is the turn terminator):
 *   llama2 "</s>" "[INST]"; llama3 "<|eot_id|>" "<|end_of_text|>"
 *   "<|start_header_id|>"; chatml "<|im_end|>" "<|im_start|>" "<|endoftext|>";
 *   zephyr "</s>" "<|user|>" "<|system|>"; UNKNOWN: none. */
const char *const *chat_template_stop_strings(chat_template_kind kind);

/* Token ids that end the turn in this vocabulary: EOS, EOT and every stop
 * string that is a single special token, without duplicates. Writes at most
 * cap ids and returns how many there are. */
size_t chat_template_stop_tokens(const tokenizer *t, chat_template_kind kind, int32_t *ids,
                                 size_t cap);

#endif

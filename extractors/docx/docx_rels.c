/* docx_rels.c — OPC package relationships: find a part by relationship type
 * instead of hard-coding its name, and resolve relative targets safely. */
#include "extractors/docx/docx_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "extractors/xml/xml_node.h"

#define MAX_PART_NAME 1024

char *docx_rels_name(const char *part)
{
    const char *slash = strrchr(part, '/');
    char *out = NULL;
    int n;
    if (!slash)
        n = asprintf(&out, "_rels/%s.rels", part);
    else
        n = asprintf(&out, "%.*s/_rels/%s.rels", (int)(slash - part), part, slash + 1);
    if (n < 0)
        abort();
    return out;
}

/* Join base directory and target, resolving "." and ".." segments; NULL
 * when ".." climbs out of the package or the name is unreasonable. */
static char *resolve_target(const char *source_part, const char *target)
{
    char joined[2 * MAX_PART_NAME + 2];
    if (strlen(target) >= MAX_PART_NAME || strlen(source_part) >= MAX_PART_NAME)
        return NULL;
    if (target[0] == '/') {
        snprintf(joined, sizeof joined, "%s", target + 1);
    } else {
        const char *slash = strrchr(source_part, '/');
        int dir_len = slash ? (int)(slash - source_part) : 0;
        snprintf(joined, sizeof joined, "%.*s%s%s", dir_len, source_part, dir_len ? "/" : "", target);
    }
    char *out = xmalloc(strlen(joined) + 1);
    size_t o = 0;
    for (char *seg = joined; *seg;) {
        size_t n = strcspn(seg, "/");
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (o == 0) {
                free(out);
                return NULL;
            }
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* drop the '/' before the removed segment */
        } else if (n > 0 && !(n == 1 && seg[0] == '.')) {
            if (o > 0)
                out[o++] = '/';
            memcpy(out + o, seg, n);
            o += n;
        }
        seg += n;
        if (*seg == '/')
            seg++;
    }
    out[o] = '\0';
    if (o == 0) {
        free(out);
        return NULL;
    }
    return out;
}

static int type_matches(const char *type, const char *suffix)
{
    size_t tl = strlen(type), sl = strlen(suffix);
    return tl > sl && type[tl - sl - 1] == '/' && strcmp(type + tl - sl, suffix) == 0;
}

char *docx_rel_target(const xmlDoc *rels, const char *source_part, const char *type_suffix)
{
    const xmlNode *root = rels ? xmlDocGetRootElement(rels) : NULL;
    if (!xn_is(root, "Relationships"))
        return NULL;
    for (xmlNode *r = xn_child(root, "Relationship"); r; r = xn_next_named(r, "Relationship")) {
        char *type = xn_attr(r, "Type", NULL);
        char *target = xn_attr(r, "Target", NULL);
        char *mode = xn_attr(r, "TargetMode", NULL);
        char *found = NULL;
        if (type && target && *target && type_matches(type, type_suffix) && !(mode && strcmp(mode, "External") == 0))
            found = resolve_target(source_part, target);
        free(type);
        free(target);
        free(mode);
        if (found)
            return found;
    }
    return NULL;
}

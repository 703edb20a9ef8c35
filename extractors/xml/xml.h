/* xml.h — text extraction from XML vocabularies (JATS, TEI, Akoma Ntoso,
 * UK legislation CLML, XHTML, anything else generically) and from DOCX.
 *
 * Both entry points parse untrusted bytes safely: no network, no external
 * entities or DTDs, no entity substitution, no XInclude, bounded depth and
 * size; DOCX archives are checked against zip bombs. On success *out is a new
 * document (caller frees with document_free) and 0 is returned; on failure
 * -1 is returned, *out is NULL and err says why.
 *
 * opts may be NULL (defaults). The process should call xml_safe_init() once
 * at startup (it installs a refusing external-entity loader); the entry
 * points call it themselves too, so forgetting it is not a hole.
 */
#ifndef PRECIS_XML_H
#define PRECIS_XML_H

#include <stddef.h>

#include "common/error.h"
#include "extractors/document.h"

struct extract_options;

int xml_extract(const void *data, size_t len, const struct extract_options *opts,
                document **out, perr *err);
int docx_extract(const void *data, size_t len, const struct extract_options *opts,
                 document **out, perr *err);

/* Process configuration: refuse every external entity / DTD load. Idempotent. */
void xml_safe_init(void);

#endif

/* conninfo_mask.h — secrets out of libpq connection strings and out of the
 * messages that quote them (errors, logs, `precis config check`).
 *
 * A secret key is one that libpq itself marks secret (PQconndefaults():
 * dispchar contains '*' — password, sslpassword, and whatever a newer libpq
 * adds), or any key containing "pass" (case-insensitive: a misspelt key that
 * libpq rejects still holds somebody's password).
 *
 * Masking is textual, so it also works on strings libpq cannot parse; only
 * the secret values change, everything else stays as written:
 *   postgres://user:SECRET@host/db?sslpassword=S2  ->  postgres://user:********@host/db?sslpassword=********
 *   host=db password=SECRET sslpassword='a b'      ->  host=db password=******** sslpassword='********'
 * A URI's userinfo ends at its last '@' (over-masking rather than leaking
 * when a password holds an unencoded '@', '/' or '?'); a query value ends at
 * the next "&key=". A dbname value that is itself a connection string or URI
 * is masked inside. Thread-safe.
 */
#ifndef PRECIS_CONNINFO_MASK_H
#define PRECIS_CONNINFO_MASK_H

#define CONNINFO_MASK "********"

/* True when key names a secret (see above). */
int conninfo_key_is_secret(const char *key);

/* conninfo with every secret value replaced by CONNINFO_MASK (malloc'd;
 * NULL only when out of memory). NULL conninfo gives "". */
char *conninfo_mask(const char *conninfo);

/* text (e.g. a libpq error message) with every verbatim copy of conninfo
 * replaced by its masked form and every secret value of conninfo (as
 * written, unquoted or percent-decoded) replaced by CONNINFO_MASK
 * (malloc'd; NULL only when out of memory). */
char *conninfo_mask_text(const char *text, const char *conninfo);

#endif

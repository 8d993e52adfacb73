/* The descriptor schema: the table of the fields every transfer
 * descriptor may have, whatever its backend (API.md section 1).  Each
 * backend's location fields are in its own table (backend-registry.h).
 * transfer.c parses with these tables, transfer-json.c writes back. */
#ifndef IMAGEXFER_TRANSFER_SCHEMA_H
#define IMAGEXFER_TRANSFER_SCHEMA_H

#include "descriptor-field.h"

/* Ended by a row with a NULL name; in the order written back. */
extern const struct descriptor_field transfer_fields[];

#endif

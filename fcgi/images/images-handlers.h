/* SPDX-License-Identifier: Apache-2.0 */
/* The /images handlers the routes table (images-routes.c) points to.
 * Each sends a complete response (or aborts it). */
#ifndef IMAGEXFER_IMAGES_HANDLERS_H
#define IMAGEXFER_IMAGES_HANDLERS_H

#include "images-request.h"

/* images-get.c */
void images_get (struct image_request *ir);
void images_head (struct image_request *ir);

/* images-data.c */
void images_put (struct image_request *ir);

/* images-ops.c */
void images_patch (struct image_request *ir);
void images_post_flush (struct image_request *ir);

/* images-extents.c */
void images_extents (struct image_request *ir);

/* images-checksum.c */
void images_checksum (struct image_request *ir);
void images_checksum_algorithms (struct image_request *ir);

#endif

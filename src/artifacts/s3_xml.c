/* s3_xml.c - the XML documents S3 answers with, read with libxml2.
 *
 * S3 speaks XML (errors, listings, multipart, batch delete). None of the
 * project's other libraries parses XML, and scanning it by hand breaks on
 * entities, CDATA or a namespace prefix, so libxml2 reads it (see
 * docs/DECISIONS.md). Elements are matched by local name, whatever their
 * namespace. The parser never touches the network and never prints
 * (XML_PARSE_NONET | NOERROR | NOWARNING). */
#include "s3.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

static xmlDocPtr s3_xml_read(const char *body, size_t len)
{
    if (body == NULL || len == 0 || len > (size_t)S3_RESP_MAX)
        return NULL;
    return xmlReadMemory(body, (int)len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static bool s3_xml_is(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr s3_xml_child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (s3_xml_is(n, name))
            return n;
    return NULL;
}

/* The text of parent's child name, appended to out; false if absent. */
static bool s3_xml_text(xmlNodePtr parent, const char *name, sbuf *out)
{
    xmlNodePtr n = s3_xml_child(parent, name);
    if (n == NULL)
        return false;
    xmlChar *t = xmlNodeGetContent(n);
    if (t)
        sbuf_puts(out, (const char *)t);
    xmlFree(t);
    return true;
}

static char *s3_xml_strdup(xmlNodePtr parent, const char *name)
{
    sbuf b = SBUF_INIT;
    if (!s3_xml_text(parent, name, &b)) {
        sbuf_free(&b);
        return NULL;
    }
    sbuf_puts(&b, ""); /* "" rather than NULL for an empty element */
    return sbuf_detach(&b);
}

bool s3_xml_error(const char *body, size_t len, sbuf *code, sbuf *message)
{
    xmlDocPtr d = s3_xml_read(body, len);
    xmlNodePtr root = d ? xmlDocGetRootElement(d) : NULL;
    bool ok = root && s3_xml_is(root, "Error");
    if (ok) {
        s3_xml_text(root, "Code", code);
        s3_xml_text(root, "Message", message);
    }
    xmlFreeDoc(d);
    return ok;
}

int s3_xml_upload_id(const char *body, size_t len, sbuf *out)
{
    xmlDocPtr d = s3_xml_read(body, len);
    xmlNodePtr root = d ? xmlDocGetRootElement(d) : NULL;
    sbuf_reset(out);
    int rc = root && s3_xml_is(root, "InitiateMultipartUploadResult") &&
                     s3_xml_text(root, "UploadId", out) && out->len > 0
                 ? 0
                 : -1;
    xmlFreeDoc(d);
    return rc;
}

static void s3_push_str(char ***v, size_t *n, size_t *cap, char *s)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *v = realloc(*v, *cap * sizeof **v);
        if (*v == NULL)
            abort();
    }
    (*v)[(*n)++] = s;
}

int s3_xml_list(const char *body, size_t len, s3_list_page *out)
{
    memset(out, 0, sizeof *out);
    xmlDocPtr d = s3_xml_read(body, len);
    xmlNodePtr root = d ? xmlDocGetRootElement(d) : NULL;
    if (root == NULL || !s3_xml_is(root, "ListBucketResult")) {
        xmlFreeDoc(d);
        return -1;
    }
    size_t kcap = 0, pcap = 0, scap = 0;
    for (xmlNodePtr n = root->children; n; n = n->next) {
        if (s3_xml_is(n, "Contents")) {
            char *key = s3_xml_strdup(n, "Key");
            if (key == NULL)
                continue;
            char *size = s3_xml_strdup(n, "Size");
            if (out->nkeys == scap) {
                scap = scap ? 2 * scap : 64;
                out->sizes = realloc(out->sizes, scap * sizeof *out->sizes);
                if (out->sizes == NULL)
                    abort();
            }
            out->sizes[out->nkeys] = size ? strtoll(size, NULL, 10) : 0;
            free(size);
            s3_push_str(&out->keys, &out->nkeys, &kcap, key);
        } else if (s3_xml_is(n, "CommonPrefixes")) {
            char *p = s3_xml_strdup(n, "Prefix");
            if (p)
                s3_push_str(&out->prefixes, &out->nprefixes, &pcap, p);
        } else if (s3_xml_is(n, "IsTruncated")) {
            xmlChar *t = xmlNodeGetContent(n);
            out->truncated = t && strcmp((const char *)t, "true") == 0;
            xmlFree(t);
        } else if (s3_xml_is(n, "NextContinuationToken")) {
            free(out->next_token);
            out->next_token = s3_xml_strdup(root, "NextContinuationToken");
        }
    }
    xmlFreeDoc(d);
    return 0;
}

void s3_list_page_free(s3_list_page *p)
{
    for (size_t i = 0; i < p->nkeys; i++)
        free(p->keys[i]);
    for (size_t i = 0; i < p->nprefixes; i++)
        free(p->prefixes[i]);
    free(p->keys);
    free(p->sizes);
    free(p->prefixes);
    free(p->next_token);
    memset(p, 0, sizeof *p);
}

size_t s3_xml_delete_errors(const char *body, size_t len, sbuf *out)
{
    xmlDocPtr d = s3_xml_read(body, len);
    xmlNodePtr root = d ? xmlDocGetRootElement(d) : NULL;
    size_t n = 0;
    for (xmlNodePtr c = root ? root->children : NULL; c; c = c->next) {
        if (!s3_xml_is(c, "Error"))
            continue;
        if (n++ > 0)
            sbuf_puts(out, "; ");
        s3_xml_text(c, "Key", out);
        sbuf_puts(out, ": ");
        s3_xml_text(c, "Code", out);
        sbuf_puts(out, " ");
        s3_xml_text(c, "Message", out);
    }
    xmlFreeDoc(d);
    return n;
}

void s3_xml_escape(sbuf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': sbuf_puts(out, "&amp;"); break;
        case '<': sbuf_puts(out, "&lt;"); break;
        case '>': sbuf_puts(out, "&gt;"); break;
        case '"': sbuf_puts(out, "&quot;"); break;
        case '\'': sbuf_puts(out, "&apos;"); break;
        default: sbuf_putc(out, *s);
        }
    }
}

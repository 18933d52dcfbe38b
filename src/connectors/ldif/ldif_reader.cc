#include "connectors/ldif/ldif_reader.h"

// clang-format off
// In this order: ldif.h uses FILE and lber.h's types without including them.
#include <stdio.h>
#include <lber.h>
#include <ldap.h>
#include <ldif.h>
// clang-format on

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "connectors/file_util.h"
#include "connectors/ldif/dn.h"
#include "connectors/ldif/ldif_checks.h"

namespace idsync {
namespace {

struct LdifCloser {
  void operator()(LDIFFP* fp) const { ldif_close(fp); }
};

// ldif_read_record()'s buffer, grown and reused by libldap.
struct RecordBuffer {
  char* data = nullptr;
  int size = 0;
  ~RecordBuffer() { ber_memfree(data); }
};

// Frees what ldap_parse_ldif_record() allocated.
struct ParsedRecord {
  LDIFRecord lr{};
  ~ParsedRecord() { ldap_ldif_record_done(&lr); }
};

std::string_view View(const berval& bv) {
  return bv.bv_val ? std::string_view(bv.bv_val, bv.bv_len) : std::string_view();
}

Values ValuesOf(const LDAPMod& mod) {
  Values values;
  if (mod.mod_bvalues == nullptr) return values;
  for (berval** v = mod.mod_bvalues; *v != nullptr; ++v) values.emplace_back(View(**v));
  return values;
}

// Converts libldap's parse result. Returns a message for records idsync
// cannot represent.
std::string Convert(const LDIFRecord& lr, ImportRecord& out) {
  out.dn = std::string(View(lr.lr_dn));
  switch (lr.lr_op) {
    case LDAP_REQ_ADD:
      out.kind = ImportRecord::Kind::kFull;
      for (LDAPMod** m = lr.lrop_mods; m && *m; ++m) {
        Values& values = out.attrs[(*m)->mod_type];
        for (std::string& v : ValuesOf(**m)) values.push_back(std::move(v));
      }
      Normalize(out.attrs);
      return {};
    case LDAP_REQ_MODIFY:
      out.kind = ImportRecord::Kind::kModify;
      for (LDAPMod** m = lr.lrop_mods; m && *m; ++m) {
        AttributeChange change;
        switch ((*m)->mod_op & LDAP_MOD_OP) {
          case LDAP_MOD_ADD:
            change.op = AttributeChange::Op::kAdd;
            break;
          case LDAP_MOD_DELETE:
            change.op = AttributeChange::Op::kDelete;
            break;
          case LDAP_MOD_REPLACE:
            change.op = AttributeChange::Op::kReplace;
            break;
          default:
            return std::string("'increment: ") + (*m)->mod_type +
                   "' is not supported; write the new value with 'replace:'";
        }
        change.name = (*m)->mod_type;
        change.values = ValuesOf(**m);
        out.changes.push_back(std::move(change));
      }
      return {};
    case LDAP_REQ_DELETE:
      out.kind = ImportRecord::Kind::kDelete;
      return {};
    case LDAP_REQ_MODDN: {
      out.kind = ImportRecord::Kind::kRename;
      std::string_view new_rdn = View(lr.lrop_newrdn);
      if (new_rdn.empty()) return "the modrdn record has an empty 'newrdn:'";
      // newsuperior present (even empty: the root) moves the entry; absent
      // keeps the old parent.
      std::string_view parent = lr.lrop_newsup.bv_val ? View(lr.lrop_newsup) : SplitDn(out.dn).parent;
      out.new_dn = JoinDn(new_rdn, parent);
      // The directory adds the new RDN's values to the entry and, with
      // deleteoldrdn, removes the old RDN's values; so does the import.
      auto added = RdnValues(new_rdn);
      if (added.empty()) return "the modrdn record's 'newrdn:' is not a valid RDN";
      if (lr.lrop_delold) {
        for (auto& [attr, value] : RdnValues(SplitDn(out.dn).rdn))
          out.changes.push_back({AttributeChange::Op::kDelete, attr, {value}});
      }
      for (auto& [attr, value] : added) out.changes.push_back({AttributeChange::Op::kAdd, attr, {value}});
      return {};
    }
    default:
      return "unsupported LDIF operation";
  }
}

// Skips a UTF-8 BOM at the start of the stream; libldap would take it for
// part of the first attribute name.
void SkipBom(std::FILE* file) {
  char head[3];
  size_t got = std::fread(head, 1, sizeof head, file);
  if (got != kUtf8Bom.size() || std::string_view(head, got) != kUtf8Bom) std::rewind(file);
}

}  // namespace

Status ReadLdifFile(const std::string& path, ImportSink& sink) {
  IDSYNC_TRY(CheckNoIncludeDirectives(path));
  std::unique_ptr<LDIFFP, LdifCloser> ldif(ldif_open(path.c_str(), "r"));
  if (!ldif) return tl::unexpected(OpenError(path, errno));
  SkipBom(ldif->fp);

  RecordBuffer buffer;
  unsigned long line = 0;  // lines consumed so far
  for (;;) {
    int rc = ldif_read_record(ldif.get(), &line, &buffer.data, &buffer.size);
    if (rc < 0) return Fail(ErrorCode::kParse, path + ": libldap could not read the file");
    if (rc == 0) break;
    if (ldif->prev != nullptr) {  // an include the pre-scan missed: never read on
      return Fail(ErrorCode::kParse, path + ": 'include:' directives are not supported");
    }
    std::string_view text(buffer.data);
    // `line` is now the record's last line, or the blank line after it.
    // Every line of the record is in the buffer, newline-terminated.
    unsigned long newlines = 0;
    for (char c : text) newlines += c == '\n';
    unsigned long first = line - newlines + (std::feof(ldif->fp) ? 1 : 0);
    RecordShape shape = InspectRecord(text, first);
    std::string location = path + ":" + std::to_string(shape.dn_line);
    if (!shape.error.empty()) {
      IDSYNC_TRY(sink.OnRecordError(location, shape.error));
      continue;
    }
    if (shape.version_only) continue;

    ParsedRecord parsed;
    berval record{static_cast<ber_len_t>(text.size()), buffer.data};  // libldap advances bv_val
    int prc =
        ldap_parse_ldif_record(&record, first, &parsed.lr, path.c_str(), LDIF_DEFAULT_ADD | LDIF_NO_CONTROLS);
    if (prc != LDAP_SUCCESS) {
      IDSYNC_TRY(sink.OnRecordError(location, std::string("libldap could not parse the record (") +
                                                  ldap_err2string(prc) +
                                                  "); check the changetype and the order of its lines"));
      continue;
    }
    if (parsed.lr.lr_dn.bv_val == nullptr) {
      IDSYNC_TRY(sink.OnRecordError(location, "the record has no 'dn:' line"));
      continue;
    }
    ImportRecord out;
    out.location = std::move(location);
    std::string problem = Convert(parsed.lr, out);
    if (!problem.empty()) {
      IDSYNC_TRY(sink.OnRecordError(out.location, problem));
      continue;
    }
    IDSYNC_TRY(sink.OnRecord(std::move(out)));
  }
  if (std::ferror(ldif->fp)) return tl::unexpected(IoError("cannot read", path, EIO));
  return {};
}

}  // namespace idsync

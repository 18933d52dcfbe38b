#include "connectors/ldif/ldif_writer.h"

// clang-format off
// In this order: ldif.h uses FILE and lber.h's types without including them.
#include <stdio.h>
#include <lber.h>
#include <ldap.h>
#include <ldif.h>
// clang-format on

#include <cctype>

#include "connectors/ldif/dn.h"

namespace idsync {
namespace {

// RFC 2849 lines are at most 76 characters; ldif_sput_wrap() folds a line
// once it reaches `wrap` characters.
constexpr ber_len_t kLineWidth = 76;

// Attribute descriptions: letters, digits, '-', '.', ';' options, and '_'
// (which real directories accept though RFC 4512 does not).
bool IsWritableName(std::string_view name) {
  if (name.empty() || !std::isalnum(static_cast<unsigned char>(name.front()))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != ';' && c != '_') {
      return false;
    }
  }
  return true;
}

Status CheckName(std::string_view name, const ExportChange& change) {
  if (IsWritableName(name)) return {};
  return Fail(ErrorCode::kInvalidArgument, "cannot write attribute '" + std::string(name) + "' of " +
                                               change.dn + " to LDIF: not a valid attribute name");
}

void AppendValues(std::string& out, std::string_view name, const Values& values) {
  for (const std::string& v : values) AppendLdifLine(out, name, v);
}

Status CheckChange(const ExportChange& change) {
  if (change.dn.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "cannot write a change for '" + change.anchor + "' to LDIF: it has no DN");
  }
  if (change.kind == ExportChange::Kind::kRename && change.new_dn.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "cannot rename " + change.dn + ": no new DN");
  }
  if (change.kind == ExportChange::Kind::kAdd) {
    for (const auto& [name, values] : change.attrs) IDSYNC_TRY(CheckName(name, change));
  }
  if (change.kind == ExportChange::Kind::kModify) {
    for (const AttributeChange& c : change.changes) IDSYNC_TRY(CheckName(c.name, change));
  }
  return {};
}

bool IsAsciiAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Whether ldif_sput_wrap() would write "name: value" as it is, on one line:
// a conservative test (letters, digits and a few punctuation characters, no
// leading or trailing space, short enough never to be folded, not a name
// libldap always encodes); anything else goes to libldap. Most values of a
// directory (names, mail addresses, DNs, dates) pass, and formatting them
// here costs a tenth of the library call.
bool IsPlainLine(std::string_view name, std::string_view value) {
  if (value.empty() || name.empty() || name.size() + 2 + value.size() >= kLineWidth - 6) return false;
  // libldap base64-encodes every value of these (and of their options).
  if (EqualsIgnoreCase(name, "userPassword") || name == "2.5.4.35") return false;
  for (char c : name) {
    if (!IsAsciiAlnum(c) && c != '-' && c != '.' && c != '_') return false;
  }
  if (value.front() == ' ' || value.back() == ' ') return false;
  for (char c : value) {
    if (!IsAsciiAlnum(c) && c != ' ' && c != ',' && c != '=' && c != '.' && c != '@' && c != '-' && c != '_' &&
        c != '+') {
      return false;
    }
  }
  return true;
}

}  // namespace

void AppendLdifLine(std::string& out, std::string_view name, std::string_view value) {
  if (IsPlainLine(name, value)) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.push_back('\n');
    return;
  }
  // ldif_sput_wrap() wants a NUL-terminated name and room for the whole line:
  // "name:: " + base64 (never shorter than the text form) + "\n", plus "\n "
  // for every fold.
  std::string type(name);
  size_t body = type.size() + 3 + (value.size() + 2) / 3 * 4 + 1;
  size_t bound = body + 2 * (body / (kLineWidth - 1) + 1);
  size_t at = out.size();
  out.resize(at + bound);
  char* end = out.data() + at;
  ldif_sput_wrap(&end, LDIF_PUT_VALUE, type.c_str(), value.data(), value.size(), kLineWidth);
  out.resize(static_cast<size_t>(end - out.data()));
}

Status AppendLdifChange(std::string& out, const ExportChange& change, std::string_view object_class) {
  IDSYNC_TRY(CheckChange(change));
  using Kind = ExportChange::Kind;
  if (change.kind == Kind::kModify && change.changes.empty()) return {};
  AppendLdifLine(out, "dn", change.dn);
  switch (change.kind) {
    case Kind::kAdd:
      out += "changetype: add\n";
      if (!object_class.empty() && change.attrs.find("objectClass") == change.attrs.end()) {
        AppendLdifLine(out, "objectClass", object_class);
      }
      for (const auto& [name, values] : change.attrs) AppendValues(out, name, values);
      break;
    case Kind::kModify:
      out += "changetype: modify\n";
      for (const AttributeChange& c : change.changes) {
        if (c.op == AttributeChange::Op::kAdd && c.values.empty()) continue;  // adds nothing
        const char* op = c.op == AttributeChange::Op::kAdd      ? "add"
                         : c.op == AttributeChange::Op::kDelete ? "delete"
                                                                : "replace";
        AppendLdifLine(out, op, c.name);
        AppendValues(out, c.name, c.values);
        out += "-\n";
      }
      break;
    case Kind::kRename: {
      DnParts old_dn = SplitDn(change.dn);
      DnParts new_dn = SplitDn(change.new_dn);
      out += "changetype: modrdn\n";
      AppendLdifLine(out, "newrdn", new_dn.rdn);
      out += "deleteoldrdn: 1\n";
      if (new_dn.parent != old_dn.parent) AppendLdifLine(out, "newsuperior", new_dn.parent);
      break;
    }
    case Kind::kDelete:
      out += "changetype: delete\n";
      break;
  }
  out += "\n";
  return {};
}

}  // namespace idsync

#include "ha/principals.h"

#include <grp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include <fmt/format.h>

namespace idsync {
namespace {

// The domain part of a domain group's name ("CORP\Admins" -> "CORP").
std::pair<std::string, std::string> SplitDomain(const std::string& name) {
  auto slash = name.find('\\');
  if (slash == std::string::npos) return {"", name};
  return {name.substr(0, slash), name.substr(slash + 1)};
}

// Depth-first over nested groups; `seen` stops cycles.
Result<std::string> FindMember(Store& store, const Store::Principal& group, int64_t user_id, std::set<int64_t>& seen) {
  if (!seen.insert(group.id).second) return std::string();
  IDSYNC_ASSIGN(auto members, store.ListMembers(group.id));
  for (const auto& m : members) {
    if (m.id == user_id) return group.domain + "\\" + group.name;
    if (m.kind == "group") {
      IDSYNC_ASSIGN(std::string via, FindMember(store, m, user_id, seen));
      if (!via.empty()) return via;
    }
  }
  return std::string();
}

Result<bool> InLocalGroup(const std::string& group_file, const std::string& group, const std::string& user) {
  FILE* f = std::fopen(group_file.c_str(), "re");
  if (!f) return Fail(ErrorCode::kIo, fmt::format("cannot read the group file {}: {}", group_file, std::strerror(errno)));
  bool found = false;
  while (struct group* g = fgetgrent(f)) {
    if (group != g->gr_name) continue;
    for (char** m = g->gr_mem; m && *m; ++m)
      if (user == *m) found = true;
  }
  std::fclose(f);
  return found;
}

}  // namespace

Result<RoleMembership> CheckRoleMember(Store& store, std::string_view role, const AccountName& user,
                                       const std::string& group_file) {
  RoleMembership out;
  IDSYNC_ASSIGN(auto groups, store.ListRoleGroups());
  auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.role == role; });
  if (it == groups.end()) return out;
  out.group = it->scope + ":" + it->name;
  if (it->scope == "local") {
    IDSYNC_ASSIGN(out.member, InLocalGroup(group_file, it->name, user.user));
    if (out.member) out.via = out.group;
    return out;
  }
  auto [group_domain, group_name] = SplitDomain(it->name);
  IDSYNC_ASSIGN(auto group, store.FindPrincipal(group_domain, group_name));
  if (!group) return out;  // the domain group has no principal (and so no members) yet
  // A user written without a domain belongs to the group's domain.
  std::string domain = user.domain.empty() ? group_domain : user.domain;
  IDSYNC_ASSIGN(auto principal, store.FindPrincipal(domain, user.user));
  if (!principal || principal->kind != "user") return out;
  std::set<int64_t> seen;
  IDSYNC_ASSIGN(out.via, FindMember(store, *group, principal->id, seen));
  out.member = !out.via.empty();
  return out;
}

}  // namespace idsync

// `idsync status`, `idsync principal ...` and `idsync secret ...`.
#include <cstdio>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "crypto/secret.h"
#include "ha/home.h"
#include "ha/install.h"
#include "ha/keys.h"
#include "ha/principals.h"
#include "ha/status.h"
#include "store/store.h"

namespace idsync {

int StatusCommand(const GlobalFlags& g) {
  auto store = OpenStore(g, true);
  if (!store) return ReportError(store.error());
  auto status = ReadStatus(**store, ServerName(g));
  if (!status) return ReportError(status.error());
  if (g.json) {
    std::puts(StatusToJson(*status).dump().c_str());
    return 0;
  }
  const auto& s = *status;
  std::printf("server %s: %s\n", s.this_server.c_str(), s.role.c_str());
  std::printf("active server: %s (epoch %lld)\n", s.active_server.empty() ? "none" : s.active_server.c_str(),
              static_cast<long long>(s.epoch));
  std::printf("release %s, schema %lld (this program: %lld)\n", s.version.c_str(),
              static_cast<long long>(s.schema_version), static_cast<long long>(s.known_schema_version));
  std::printf("%-20s %-8s %-8s %-8s %s\n", "SERVER", "ROLE", "SERVICE", "VERSION", "LAST HEARTBEAT");
  for (const auto& r : s.servers) {
    std::string beat = r.heartbeat_at.empty() ? "never"
                                              : fmt::format("{} ({:.1f} s ago)", r.heartbeat_at, r.heartbeat_age_ms / 1000.0);
    std::printf("%-20s %-8s %-8s %-8s %s\n", r.name.c_str(), r.role.c_str(),
                r.live ? "running" : (r.state == "running" ? "silent" : "stopped"),
                r.version.empty() ? "-" : r.version.c_str(), beat.c_str());
  }
  return 0;
}

namespace {

// "DOMAIN\NAME" of a principal; a domain is required.
Result<AccountName> ParsePrincipalName(std::string_view text) {
  IDSYNC_ASSIGN(AccountName name, ParseAccountName(text));
  if (name.domain.empty())
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' needs its domain: principals are domain accounts and groups (DOMAIN\\NAME)", text));
  return name;
}

Result<Store::Principal> RequirePrincipal(Store& store, const AccountName& name, std::string_view kind) {
  IDSYNC_ASSIGN(auto p, store.FindPrincipal(name.domain, name.user));
  if (!p)
    return Fail(ErrorCode::kNotFound, fmt::format("no principal {}; add it with `idsync principal add-{} {}`",
                                                  name.ToString(), kind.empty() ? "user" : kind, name.ToString()));
  if (!kind.empty() && p->kind != kind)
    return Fail(ErrorCode::kInvalidArgument, fmt::format("{} is a {}, not a {}", name.ToString(), p->kind, kind));
  return *p;
}

}  // namespace

int PrincipalCommand(const GlobalFlags& g, const std::string& action, const std::vector<std::string>& names) {
  bool writes = action != "list" && action != "members";
  auto store = OpenStore(g, !writes);
  if (!store) return ReportError(store.error());
  Store& s = **store;
  std::vector<AccountName> parsed;
  for (const auto& n : names) {
    auto name = ParsePrincipalName(n);
    if (!name) return ReportError(name.error());
    parsed.push_back(*name);
  }
  auto need = [&](size_t n) -> Status {
    if (parsed.size() != n)
      return Fail(ErrorCode::kInvalidArgument, fmt::format("principal {} takes {} name{}", action, n, n == 1 ? "" : "s"));
    return {};
  };
  nlohmann::json out = nlohmann::json::array();
  auto print = [&](const Store::Principal& p) {
    if (g.json)
      out.push_back({{"kind", p.kind}, {"name", p.domain + "\\" + p.name}});
    else
      std::printf("%-6s %s\\%s\n", p.kind.c_str(), p.domain.c_str(), p.name.c_str());
  };
  Status st;
  if (action == "list") {
    auto all = s.ListPrincipals();
    if (!all) return ReportError(all.error());
    for (const auto& p : *all) print(p);
  } else if (action == "members") {
    st = need(1);
    if (st) {
      auto group = RequirePrincipal(s, parsed[0], "group");
      auto members = group ? s.ListMembers(group->id) : tl::unexpected(group.error());
      if (!members) return ReportError(members.error());
      for (const auto& p : *members) print(p);
    }
  } else {
    st = s.WithWrite([&]() -> Status {
      if (action == "add-user" || action == "add-group") {
        IDSYNC_TRY(need(1));
        IDSYNC_TRY(s.AddPrincipal(action == "add-user" ? "user" : "group", parsed[0].domain, parsed[0].user));
      } else if (action == "remove") {
        IDSYNC_TRY(need(1));
        IDSYNC_ASSIGN(auto p, RequirePrincipal(s, parsed[0], ""));
        IDSYNC_TRY(s.RemovePrincipal(p.id));
      } else if (action == "add-member" || action == "remove-member") {
        IDSYNC_TRY(need(2));
        IDSYNC_ASSIGN(auto group, RequirePrincipal(s, parsed[0], "group"));
        IDSYNC_ASSIGN(auto member, RequirePrincipal(s, parsed[1], ""));
        if (action == "add-member") {
          IDSYNC_TRY(s.AddMember(group.id, member.id));
        } else {
          IDSYNC_TRY(s.RemoveMember(group.id, member.id));
        }
      } else {
        return Fail(ErrorCode::kInvalidArgument, fmt::format("unknown principal action '{}'", action));
      }
      return {};
    });
    if (st && !g.json) std::printf("%s: done\n", action.c_str());
  }
  if (!st) return ReportError(st.error());
  if (g.json && !writes) std::puts(out.dump().c_str());
  return 0;
}

int RoleCheckCommand(const GlobalFlags& g, const std::string& user, const std::string& role,
                     const std::string& group_file) {
  auto store = OpenStore(g, true);
  if (!store) return ReportError(store.error());
  auto name = ParseAccountName(user);
  if (!name) return ReportError(name.error());
  if (std::find(std::begin(kRoles), std::end(kRoles), role) == std::end(kRoles))
    return ReportError({ErrorCode::kInvalidArgument,
                        fmt::format("unknown role '{}'; roles: admins, operators, joiners, browse, passwordset", role)});
  auto m = CheckRoleMember(**store, role, *name, group_file);
  if (!m) return ReportError(m.error());
  if (g.json) {
    std::puts(nlohmann::json{{"user", user}, {"role", role}, {"group", m->group}, {"member", m->member},
                             {"via", m->via}}
                  .dump()
                  .c_str());
  } else if (m->group.empty()) {
    std::printf("the installation has no %s group\n", role.c_str());
  } else {
    std::printf("%s is %sa member of the %s group %s%s\n", user.c_str(), m->member ? "" : "not ", role.c_str(),
                m->group.c_str(), m->member && m->via != m->group ? fmt::format(" (through {})", m->via).c_str() : "");
  }
  return m->member ? 0 : 1;
}

int SecretCommand(const GlobalFlags& g, const std::string& action, const std::string& ma, const std::string& name,
                  bool from_stdin) {
  bool writes = action != "list";
  auto store = OpenStore(g, !writes);
  if (!store) return ReportError(store.error());
  Store& s = **store;
  if (action == "list") {
    auto secrets = s.ListSecrets();
    if (!secrets) return ReportError(secrets.error());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *secrets) {
      if (g.json)
        out.push_back({{"ma", r.ma}, {"name", r.name}, {"key_version", r.key_version}});
      else
        std::printf("%-20s %-20s key version %u\n", r.ma.c_str(), r.name.c_str(), r.key_version);
    }
    if (g.json) std::puts(out.dump().c_str());
    return 0;
  }
  if (action == "delete") {
    auto st = s.WithWrite([&] { return s.DeleteSecret(ma, name); });
    return st ? 0 : ReportError(st.error());
  }
  // set: the value comes from standard input or a hidden prompt, never argv.
  auto ma_id = s.FindManagementAgent(ma);
  if (!ma_id) return ReportError(ma_id.error());
  if (!*ma_id)
    return ReportError({ErrorCode::kNotFound, fmt::format("no management agent '{}' is configured; apply a "
                                                          "configuration that defines it first",
                                                          ma)});
  auto home = ReadHome(DefaultHomeDir(g.home));
  if (!home) return ReportError(home.error());
  auto keys = LoadInstalledKeySet(*home, s);
  if (!keys) return ReportError(keys.error());
  SecureString value;
  if (from_stdin) {
    value = ReadSecretLine(std::cin);
  } else {
    auto typed = PromptHidden(fmt::format("value of {} for {}: ", name, ma), "give it with --stdin");
    if (!typed) return ReportError(typed.error());
    value = SecureString(std::move(*typed));
  }
  if (value.empty()) return ReportError({ErrorCode::kInvalidArgument, "the secret is empty; nothing was stored"});
  auto sealed = SealSecret(*keys, SecretBinding(ma, name), value);
  if (!sealed) return ReportError(sealed.error());
  auto st = s.WithWrite([&] { return s.PutSecret({ma, name, *sealed, keys->active_version}); });
  if (!st) return ReportError(st.error());
  if (!g.json) std::printf("secret %s of %s stored (key version %u)\n", name.c_str(), ma.c_str(), keys->active_version);
  return 0;
}

}  // namespace idsync

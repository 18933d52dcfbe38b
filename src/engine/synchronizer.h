// engine/synchronizer: the per-object rules of a sync step (internal to engine).
// Thread-safety: one Synchronizer per run.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/batch_cache.h"
#include "engine/run_context.h"
#include "store/store.h"

namespace idsync {

class Synchronizer {
 public:
  explicit Synchronizer(RunContext& ctx);

  // Resolves the ids of every configured MA (creating them on first use).
  // REQUIRES: a write transaction.
  Status Init();

  // Synchronizes one CS object of ctx.ma. When a reference cannot be resolved
  // yet and `final_pass` is false, sets *deferred and leaves the object
  // pending so the caller processes it again after the rest.
  // Object-level failures come back as kInvalidArgument with a message.
  Status Process(CsObject& cs, bool final_pass, bool* deferred);

  // Reads ahead, in a few statements, what Process will ask the store about
  // the batch's objects (join keys, linked MV objects and their connectors,
  // single references and their targets' names), and keeps it true while
  // the batch writes. REQUIRES: the batch's write transaction, before its
  // first object; DropCache after any rollback in it.
  Status Prefetch(std::span<const CsObject> batch);
  void DropCache() { cache_.Clear(); }

  // CS objects of this MA whose unresolved references can now be resolved
  // (their target was just linked); the caller processes them again.
  std::vector<int64_t> TakeWoken() { return std::exchange(woken_, {}); }

 private:
  struct Outcome {
    bool unresolved = false;
    bool final_pass = false;
  };

  // Whether `attr` is a reference attribute of the metaverse type.
  static bool IsReference(const MvObjectType* type, std::string_view attr);

  // inbound (inbound.cc)
  // The MV object a join rule finds, with its connectors, as read to check it.
  struct JoinMatch {
    MvObject mv;
    std::vector<CsObject> connectors;
  };
  // `dn`: the values expressions read as the attribute `dn` of `cs` (its DN),
  // unless the object has a real `dn` attribute.
  Result<std::optional<JoinMatch>> Join(const CsObject& cs, const Values& dn, const MaObjectType& type);
  Status FlowIn(const CsObject& cs, const Values& dn, const MaObjectType& type, MvObject& mv,
                const std::vector<CsObject>& connectors, bool* mv_changed, Outcome& out);
  Status Recall(MvObject& mv, const std::vector<std::string>& attrs, const std::vector<CsObject>& connectors,
                Outcome& out);
  // Sets or clears one MV attribute from one MA by precedence; returns
  // whether the attribute was cleared by its contributor (to be recalled).
  bool Contribute(MvObject& mv, const std::string& attr, std::string_view ma, Values values,
                  bool* changed) const;
  Status Disconnect(CsObject& cs, MvObject& mv, std::vector<CsObject>& others, Outcome& out);
  // What the indexes hold for an MV object, to tell whether a save must
  // rewrite them.
  struct Indexed {
    std::vector<std::pair<std::string, std::string>> keys;
    std::vector<int64_t> refs;
  };
  Indexed IndexedOf(const MvObject& mv) const;
  // Inserts or updates the MV object and keeps its join keys and reverse
  // references in step.
  Status SaveMv(MvObject& mv, const Indexed& before, bool is_new);
  // Wakes CS objects waiting for `cs` (now linked) to resolve a reference.
  Status WakeWaiters(const CsObject& cs);
  // Re-runs export flows into `target_id` for the MV objects that reference
  // `mv_id` (after it was renamed or provisioned there).
  Status RefreshReferrers(int64_t mv_id, std::optional<int64_t> target_id, const std::vector<int64_t>& referrers);
  // Removes references to a deleted MV object and re-exports the referrers.
  Status DropReferencesTo(int64_t mv_id);
  // The join attributes' values of an MV object (what the key index holds).
  std::vector<std::pair<std::string, std::string>> JoinKeys(const MvObject& mv) const;

  Result<Values> RefsIn(int64_t ma_id, int64_t cs_id, const MaObjectType& type, std::string_view attr,
                        const Values& values, bool final_pass, Outcome& out);

  // outbound (outbound.cc)
  // `source`: the object being synchronized (its MA's export flows change it
  // in memory; Process writes it), or null.
  Status FlowOut(MvObject& mv, std::vector<CsObject>& connectors, CsObject* source, bool final_pass,
                 Outcome& out);
  Status FlowOutTo(MvObject& mv, int64_t target_id, const MaObjectType& type, CsObject* existing,
                   bool write, bool final_pass, Outcome& out);
  Status DeleteMv(MvObject& mv, std::vector<CsObject>& connectors);
  Result<Values> RefsOut(int64_t target_id, int64_t from_mv, ReferenceKind kind, const Values& values,
                         bool final_pass, Outcome& out);
  // The values of each export flow of `type`, in the flows' order
  // (references translated for the target).
  Result<std::vector<Values>> ExportValues(const MvObject& mv, int64_t target_id, const MaObjectType& type,
                                           bool final_pass, Outcome& out);
  const MaObjectType* TypeOf(const CsObject& cs, const ManagementAgent** ma = nullptr) const;
  // `what`, followed by `target` when given, names the rule in an error
  // message (built only when there is an error). `dn`, when given, is what
  // the attribute `dn` reads if attrs has none (a CS object's DN).
  Result<Values> Eval(const Expression& e, const AttributeMap& attrs, std::string_view what,
                      std::string_view target = {}, const Values* dn = nullptr);

  // batch reads (sync_prefetch.cc)
  // Part of Prefetch: the anchors in this MA and the names in reference
  // targets of the objects that `mvs` reference many at a time.
  Status PrefetchReferenced(const std::unordered_map<int64_t, MvObject>& mvs);
  // The store's reads through the batch's cache (the store when it does
  // not know), and its writes, told to the cache.
  Result<std::vector<int64_t>> MvIdsByKey(const std::string& attr, const std::string& value);
  // The MV object and its connectors (all of them, this object's too).
  Result<std::optional<std::pair<MvObject, std::vector<CsObject>>>> MvWithConnectors(int64_t id);
  Result<std::optional<int64_t>> MvIdByAnchor(int64_t ma_id, const std::string& anchor);
  // The MV objects that refer to `mv_id` (ListMvReferrers).
  Result<std::vector<int64_t>> Referrers(int64_t mv_id);
  // How MA `ma_id` names each of `mv_ids` (those it has an object for).
  Result<std::map<int64_t, Store::ConnectorName>> ConnectorNames(const std::vector<int64_t>& mv_ids, int64_t ma_id);
  Status WriteCs(const CsObject& cs);      // UpdateCs
  Status WriteCsLink(const CsObject& cs);  // UpdateCsLink
  Status RemoveCs(const CsObject& cs);     // DeleteCs
  Result<bool> ProvisionCs(CsObject& cs);  // InsertCsIfNew
  Status MarkPending(const std::vector<int64_t>& cs_ids);  // MarkPendingSync

  RunContext& ctx_;
  std::vector<int64_t> config_ma_ids_;  // the ids of ctx_.config.mas, in that order
  std::map<int64_t, const ManagementAgent*> mas_by_id_;
  std::vector<std::string> join_attrs_;
  std::vector<int64_t> woken_;
  std::map<int64_t, bool> waits_exist_;         // per MA id: ref_waits may hold rows for it
  std::map<int64_t, bool> export_waits_exist_;  // per MA id: export_waits may hold rows
  int refresh_depth_ = 0;                 // RefreshReferrers does not recurse
  bool source_changed_ = false;           // export flows changed the object being synchronized
  std::vector<int64_t> ref_targets_;      // MAs whose export flows translate references
  BatchCache cache_;
};

}  // namespace idsync

/**
 * The modelled rules and the real sources they follow: shown in every report (and in the
 * README). Each row: the rule, where the model has it, and the upstream repository, path,
 * function and version it was read at. UNVERIFIED marks what could not be read.
 */
export const FIDELITY: ReadonlyArray<readonly [rule: string, where: string, source: string]> = [
  ['An update with a stale resourceVersion gets 409 Conflict; resourceVersion 0 is unconditional', 'cluster/apiserver.ts', 'kubernetes staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go Update; pkg/registry/core/resourcequota/strategy.go AllowUnconditionalUpdate (v1.30)'],
  ['ResourceQuota and PodDisruptionBudget spec and /status are separate writes sharing one resourceVersion; a PDB spec change bumps metadata.generation', 'cluster/apiserver.ts', 'kubernetes pkg/registry/core/resourcequota/strategy.go, pkg/registry/policy/poddisruptionbudget/strategy.go PrepareForUpdate / PrepareForUpdateStatus (v1.30)'],
  ['Annotation keys: the name part is at most 63 characters (422 Invalid)', 'cluster/validation.ts', 'kubernetes staging/src/k8s.io/apimachinery/pkg/api/validation ValidateAnnotations → IsQualifiedName (v1.30)'],
  ['Quota admission checks status.hard, masked to what the pod requests; the real "exceeded quota" text', 'cluster/quota-admission.ts', 'kubernetes staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/controller.go CheckRequest (v1.30)'],
  ['Admission charges status.used by compare-and-swap, 3 retries, then the 409 fails the create', 'cluster/quota-admission.ts', 'same file, checkQuotas(quotas, waiters, 3)'],
  ['Quota controller: spec.hard → status.hard, used recomputed, replenished on pod completion or deletion, 5 min resync', 'actors/quota-controller.ts', 'kubernetes pkg/controller/resourcequota/resource_quota_controller.go syncResourceQuota, QuotaMonitor (v1.30)'],
  ['Disruption controller: desiredHealthy = minAvailable, currentHealthy = ready matching pods, disruptionsAllowed, observedGeneration; one worker', 'actors/disruption-controller.ts', 'kubernetes pkg/controller/disruption/disruption.go trySync, updatePdbStatus (read at a v1.31-era commit; 1.30 equality UNVERIFIED)'],
  ['Eviction API: webhooks first; Succeeded/Failed/Pending pods skip the PDB; else disruptionsAllowed 0 or observedGeneration < generation → 429', 'cluster/eviction.ts', 'kubernetes pkg/registry/core/pod/storage/eviction.go EvictionREST.Create, canIgnorePDB, checkAndDecrement (v1.31-era commit; UNVERIFIED for 1.30)'],
  ['Pod usage: pods, requests.*, limits.*; terminal pods stop counting', 'cluster/launcher.ts, cluster/objects.ts', 'kubernetes pkg/quota/v1/evaluator/core/pods.go PodUsageFunc, QuotaV1Pod (v1.30)'],
  ['Informer caches lag the API server and deliver each kind in order; a re-list delivers every object as an update', 'cluster/informer.ts', 'client-go tools/cache/reflector.go ListAndWatch, controller.go processDeltas (v0.30.3)'],
  ['Workqueues dedupe keys and retry with the real rate limiters', 'cluster/workqueue.ts, cluster/ratelimit.ts', 'client-go v0.30.3 util/workqueue DefaultControllerRateLimiter; rancher/lasso v0.2.0 pkg/controller/controller.go applyDefaultOptions'],
  ['Drain: cordon, evict every pod in parallel, 429 → retry after 5 s, wait for deletion', 'actors/drain.ts', 'kubernetes staging/src/k8s.io/kubectl/pkg/drain/drain.go evictPods (v1.30); harvester v1.4.x pkg/util/drainhelper/helper.go DrainNode'],
  ['The first eviction of a LiveMigrate VMI\'s pod marks it for evacuation and answers 429; later ones are left to the PDB', 'actors/kubevirt/eviction-admitter.ts', 'kubevirt v1.3.1 pkg/virt-api/webhooks/validating-webhook/admitters/pod-eviction-admitter.go PodEvictionAdmitter.Admit'],
  ['A PDB of minAvailable 1 per LiveMigrate VMI; shrunk back after a migration once it is final and the VMI has one active pod', 'actors/kubevirt/disruption-budget-controller.ts', 'kubevirt v1.3.1 pkg/virt-controller/watch/drain/disruptionbudget/disruptionbudget.go createPDB, sync, isMigrationComplete, shrinkPDB'],
  ['Evacuation creates min(5 − running, 2 − running from the node) VMIMs; Pending does not count; 3 workers', 'actors/kubevirt/evacuation-controller.ts', 'kubevirt v1.3.1 pkg/virt-controller/watch/drain/evacuation/evacuation.go sync; application.go defaultControllerThreads'],
  ['Migration phases one per pass: Unset → Pending; Pending → Scheduling once the target pod is cached; Succeeded a pass after the VMI\'s migrationState completes', 'actors/kubevirt/migration-controller.ts', 'kubevirt v1.3.1 pkg/virt-controller/watch/migration.go execute, updateStatus, processMigrationPhase'],
  ['Before the target pod: wait 1 s while any creation is unobserved or the VMI has 2 active pods; 5 per cluster and 2 outbound per node; expandPDB (minAvailable 2) and wait for isMigrationProtected', 'actors/kubevirt/migration-controller.ts', 'kubevirt v1.3.1 migration.go handleTargetPodCreation, expandPDB, isMigrationProtected'],
  ['A quota-refused target pod leaves the VMIM Pending with RejectedByResourceQuota, retried with backoff and on every quota event', 'actors/kubevirt/migration-controller.ts, actors/kubevirt.ts', 'kubevirt v1.3.1 migration.go createTargetPod, processMigrationPhase, updateResourceQuota'],
  ['Evacuation backoff: only the newest evacuation VMIM of a VMI, 20 s doubled per earlier failure', 'actors/kubevirt/migration-controller.ts', 'kubevirt v1.3.1 migration.go handleMigrationBackoff'],
  ['Target pod = VMI limits + KubeVirt memory overhead (the cluster\'s ratio setting) + the 15m/60M console-log container', 'cluster/launcher.ts', 'kubevirt v1.3.1 pkg/virt-controller/services/renderresources.go GetMemoryOverhead, template.go, serialconsolelog.go'],
  ['additional-guest-memory-overhead-ratio: default "1.5", "" clears it; flows to launcher pods and to v1.4.2\'s delta', 'scenario cluster.harvester, cluster/launcher.ts', 'harvester v1.4.x pkg/settings/settings_helper.go; pkg/controller/master/setting/additional_guest_memory_overhead.go; pkg/util/setting.go'],
  ['The source pod completes seconds after the migration succeeds', 'actors/kubevirt/virt-handler.ts', 'harvester/harvester#7161'],
  ['Rancher\'s quota sync runs in the Rancher server, through the agents\' tunnel: requests fail and watches break while no agent is connected; on reconnect it re-lists and syncs every namespace', 'actors/rancher-server.ts', 'rancher v2.10.3 pkg/clustermanager/manager.go doStart → pkg/controllers/managementuser/controllers.go Register; pkg/controllers/options.go (CATTLE_SYNC_ONLY_CHANGED_OBJECTS unset); one-of-two-agents re-list UNVERIFIED'],
  ['Rancher syncs on Namespace events only (and every namespace of the project on a quota-annotation change); when spec.hard differs it writes ResourceQuotaValidated, then replaces spec.hard', 'actors/rancher-quota-sync.ts, actors/rancher-server.ts', 'rancher v2.10.3 pkg/controllers/managementuser/resourcequota register.go registerDeferred, resource_quota_sync.go CreateResourceQuota, resource_quota_validate.go reconcileNamespaces'],
  ['cattle-cluster-agent: min(2, nodes) replicas; RollingUpdate surge 1, unavailable 0', 'actors/rancher-agent.ts', 'rancher v2.10.3 pkg/systemtemplate/template.go; pkg/controllers/dashboard/scaleavailable/scale.go OnChange'],
  ['Harvester namespace webhook validator.harvesterhci.io: no quota change while a migrating annotation exists; new limit must parse and not be below status.used (v1.4.1 "cannot update…", v1.4.2 "can\'t update…")', 'strategies/harvester-quota.ts', 'harvester v1.4.1/v1.4.2 pkg/webhook/resources/namespace/validator.go Update, checkIfNewResourceQuotaIsSufficient; pkg/webhook/server/server.go'],
  ['Migration delta: VMI cpu limit, memory limit + KubeVirt overhead, for the keys spec.hard has; v1.4.1 ratio nil, v1.4.2 the setting', 'strategies/harvester-quota.ts', 'harvester v1.4.1/v1.4.2 pkg/util/resourcequota/calculator.go CalculateScaleResourceQuotaWithVMI; utils.go UpdateMigratingVM / AddMigratingVM'],
  ['v1.4.1 restore subtracts the annotation\'s delta from the current spec.hard', 'strategies/pre-fix.ts', 'harvester v1.4.1 pkg/controller/master/migration/vmim_controller.go restoreResourceQuotaWithVMI; calculator.go CalculateRestoreResourceQuotaWithVMI'],
  ['v1.4.2 quota controller: spec.hard = base + Σ deltas; a bad migration annotation, empty quota or bad limit skips (errSkipScaling); bad annotation JSON re-queues', 'strategies/v1.4.2.ts', 'harvester v1.4.2 pkg/controller/master/resourcequota/resourcequota_controller.go OnResourceQuotaChanged, scaleResourceQuotaOnDemand; pkg/util/resourcequota/utils.go getResourceListFromMigratingVMs'],
  ['Harvester\'s controllers run 10 workers each', 'strategies/runtime.ts', 'harvester v1.4.x main.go --threadiness (THREADINESS) default 10 → wrangler start.All'],
  ['Conformance: Harvester\'s own unit-test tables pass through the model', 'test/conformance.test.ts', 'harvester v1.4.1/v1.4.2 vmim_controller_test.go TestHandler_OnVmimChanged_WithResourceQuota; v1.4.2 resourcequota_controller_test.go TestHandler_OnResourceQuotaChanged'],
];

/** The table as Markdown, as README.md's "Fidelity" section carries it (a test keeps them equal). */
export function fidelityMarkdown(): string {
  const esc = (x: string) => x.replace(/\|/g, '\\|');
  return [
    '| rule | where in quotarace | source (repository, path, function, version) |',
    '|---|---|---|',
    ...FIDELITY.map(([rule, where, source]) => `| ${esc(rule)} | \`${where}\` | ${esc(source)} |`),
  ].join('\n');
}

-- Argo CD health check for chainnet.io/ChainNetwork, from the operator's kstatus-style status.
-- Install: argocd-cm key "resource.customizations.health.chainnet.io_ChainNetwork".
local hs = {}
if obj.spec ~= nil and obj.spec.paused then
  hs.status = "Suspended"
  hs.message = "Reconciliation is paused (spec.paused)"
  return hs
end
if obj.status == nil or obj.status.observedGeneration == nil or obj.metadata.generation == nil
    or obj.status.observedGeneration < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe the latest spec"
  return hs
end
local ready, degraded, progressing, admitted
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then ready = c end
    if c.type == "Degraded" then degraded = c end
    if c.type == "Progressing" then progressing = c end
    if c.type == "Admitted" then admitted = c end
  end
end
-- A consortium member the chain does not list yet waits for the members' vote: its nodes have no
-- peers and are not ready, which the operator reports as NodesUnavailable. That is progress to
-- wait for, not a fault; a chain split or a failed step still is.
if admitted ~= nil and admitted.status == "False"
    and (degraded == nil or degraded.status ~= "True" or degraded.reason == "NodesUnavailable") then
  hs.status = "Progressing"
  hs.message = admitted.reason .. ": " .. (admitted.message or "")
  return hs
end
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = degraded.reason .. ": " .. (degraded.message or "")
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "All nodes ready"
  return hs
end
hs.status = "Progressing"
if progressing ~= nil and progressing.status == "True" then
  hs.message = progressing.reason .. ": " .. (progressing.message or "")
elseif ready ~= nil then
  hs.message = ready.reason .. ": " .. (ready.message or "")
else
  hs.message = "Waiting for conditions"
end
return hs

-- Argo CD health check for argoproj.io/Application, after the one Argo CD's documentation gives:
-- an Application's health is the one Argo CD computed for it, once it is synced. Argo CD stopped
-- assessing child Applications in 1.8; without this check an app of apps never waits for a sync
-- wave's Applications to be Healthy, so root-application.yaml's waves would not order the
-- operator before the network. Synced is required too: Argo CD 3 leaves resources not yet created
-- out of an Application's health (Healthy with its Deployment still missing), but not out of its
-- sync status. Install: argocd-cm key "resource.customizations.health.argoproj.io_Application".
local hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status == nil then
  return hs
end
local op = obj.status.operationState
if op ~= nil and (op.phase == "Failed" or op.phase == "Error") then
  hs.status = "Degraded"
  hs.message = op.message or op.phase
  return hs
end
if obj.operation ~= nil or (op ~= nil and op.phase == "Running") then
  hs.message = "Syncing"
  return hs
end
if obj.status.sync == nil or obj.status.sync.status ~= "Synced" then
  hs.message = "Not synced yet"
  return hs
end
if obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then
    hs.message = obj.status.health.message
  end
end
return hs

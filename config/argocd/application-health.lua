-- Argo CD health check for argoproj.io/Application, as Argo CD's documentation gives it: an
-- Application's health is the one Argo CD computed for it. Argo CD stopped assessing child
-- Applications in 1.8; without this check an app of apps never waits for a sync wave's
-- Applications to be Healthy, so root-application.yaml's waves would not order the operator
-- before the network. Install: argocd-cm key "resource.customizations.health.argoproj.io_Application".
local hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then
    hs.message = obj.status.health.message
  end
end
return hs

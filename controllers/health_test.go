package controllers_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// argoHealth runs config/argocd/health.lua, as Argo CD does (gopher-lua is the interpreter it
// embeds), on the object and returns the health status and message.
func argoHealth(cn *chainv1.ChainNetwork) (string, string) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cn)
	Expect(err).NotTo(HaveOccurred())
	return luaHealth("health.lua", m)
}

// luaHealth runs config/argocd/<script> on obj as Argo CD does.
func luaHealth(script string, m map[string]any) (string, string) {
	code, err := os.ReadFile(filepath.Join("..", "config", "argocd", script))
	Expect(err).NotTo(HaveOccurred())
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, m))
	fn, err := L.LoadString(string(code))
	Expect(err).NotTo(HaveOccurred())
	L.Push(fn)
	Expect(L.PCall(0, 1, nil)).To(Succeed())
	hs, ok := L.Get(-1).(*lua.LTable)
	Expect(ok).To(BeTrue(), "%s must return a table", script)
	return hs.RawGetString("status").String(), hs.RawGetString("message").String()
}

func toLua(L *lua.LState, v any) lua.LValue {
	switch t := v.(type) {
	case map[string]any:
		tbl := L.NewTable()
		for k, x := range t {
			tbl.RawSetString(k, toLua(L, x))
		}
		return tbl
	case []any:
		tbl := L.NewTable()
		for _, x := range t {
			tbl.Append(toLua(L, x))
		}
		return tbl
	case string:
		return lua.LString(t)
	case bool:
		return lua.LBool(t)
	case int64:
		return lua.LNumber(t)
	case float64:
		return lua.LNumber(t)
	case nil:
		return lua.LNil
	}
	return lua.LString("")
}

// kstatusOf computes the object's status with kstatus (Flux, kpt, cli-utils).
func kstatusOf(cn *chainv1.ChainNetwork) status.Status {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cn)
	Expect(err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructured.Unstructured{Object: m})
	Expect(err).NotTo(HaveOccurred())
	return res.Status
}

var _ = Describe("The Argo CD health check on a consortium member", func() {
	// The conditions the operator writes for a cluster whose organization the chain does not list
	// yet (governance.go: Admitted False/AwaitingAdmission) next to what its nodes show.
	member := func(conds ...metav1.Condition) *chainv1.ChainNetwork {
		cn := &chainv1.ChainNetwork{ObjectMeta: metav1.ObjectMeta{Name: "joiner", Generation: 2}}
		cn.Status.ObservedGeneration = 2
		for _, c := range conds {
			c.ObservedGeneration = 2
			meta.SetStatusCondition(&cn.Status.Conditions, c)
		}
		return cn
	}
	cond := func(t string, s metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: t, Status: s, Reason: reason, Message: reason + " message"}
	}
	awaiting := cond(chainv1.ConditionAdmitted, metav1.ConditionFalse, "AwaitingAdmission")

	DescribeTable("health and message",
		func(cn *chainv1.ChainNetwork, want, msgPrefix string) {
			h, msg := argoHealth(cn)
			Expect(h).To(Equal(want))
			Expect(msg).To(HavePrefix(msgPrefix))
		},
		Entry("awaiting admission with its nodes lost is Progressing, not Degraded",
			member(awaiting, cond(chainv1.ConditionDegraded, metav1.ConditionTrue, "NodesUnavailable"),
				cond(chainv1.ConditionReady, metav1.ConditionFalse, "NodesNotReady")), "Progressing", "AwaitingAdmission: "),
		Entry("awaiting admission with its nodes ready is Progressing, not Healthy",
			member(awaiting, cond(chainv1.ConditionDegraded, metav1.ConditionFalse, "AsExpected"),
				cond(chainv1.ConditionReady, metav1.ConditionTrue, "AllNodesReady")), "Progressing", "AwaitingAdmission: "),
		Entry("awaiting admission with a chain split is Degraded",
			member(awaiting, cond(chainv1.ConditionDegraded, metav1.ConditionTrue, "ChainSplit"),
				cond(chainv1.ConditionReady, metav1.ConditionFalse, "ChainSplit")), "Degraded", "ChainSplit: "),
		Entry("awaiting admission with a failed step is Degraded",
			member(awaiting, cond(chainv1.ConditionDegraded, metav1.ConditionTrue, "ApplyFailed")), "Degraded", "ApplyFailed: "),
		Entry("admitted and ready is Healthy",
			member(cond(chainv1.ConditionAdmitted, metav1.ConditionTrue, "Member"), cond(chainv1.ConditionDegraded, metav1.ConditionFalse, "AsExpected"),
				cond(chainv1.ConditionReady, metav1.ConditionTrue, "AllNodesReady")), "Healthy", "AllNodesReady message"),
		Entry("admitted with its nodes lost is Degraded",
			member(cond(chainv1.ConditionAdmitted, metav1.ConditionTrue, "Member"), cond(chainv1.ConditionDegraded, metav1.ConditionTrue, "NodesUnavailable"),
				cond(chainv1.ConditionReady, metav1.ConditionFalse, "NodesNotReady")), "Degraded", "NodesUnavailable: "),
	)
})

var _ = Describe("The Argo CD health check of an Application (the app of apps' waves)", func() {
	app := func(sync, health, phase string) map[string]any {
		st := map[string]any{"sync": map[string]any{"status": sync}, "health": map[string]any{"status": health, "message": health + " message"}}
		if phase != "" {
			st["operationState"] = map[string]any{"phase": phase, "message": phase + " message"}
		}
		return map[string]any{"kind": "Application", "status": st}
	}
	DescribeTable("health and message",
		func(obj map[string]any, want, msg string) {
			h, m := luaHealth("application-health.lua", obj)
			Expect([]string{h, m}).To(Equal([]string{want, msg}))
		},
		Entry("before Argo CD computed any", map[string]any{"kind": "Application"}, "Progressing", ""),
		Entry("synced: the health Argo CD computed", app("Synced", "Degraded", "Succeeded"), "Degraded", "Degraded message"),
		Entry("synced and healthy", app("Synced", "Healthy", ""), "Healthy", "Healthy message"),
		Entry("healthy while a resource is still missing (out of sync) is not yet Healthy", app("OutOfSync", "Healthy", ""), "Progressing", "Not synced yet"),
		Entry("healthy while its sync runs is not yet Healthy", app("Synced", "Healthy", "Running"), "Progressing", "Syncing"),
		Entry("a failed sync is Degraded", app("OutOfSync", "Healthy", "Failed"), "Degraded", "Failed message"),
	)
})

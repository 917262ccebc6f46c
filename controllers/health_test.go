package controllers_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/gomega"
	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// argoHealth runs config/argocd/health.lua, as Argo CD does (gopher-lua is the interpreter it
// embeds), on the object and returns the health status and message.
func argoHealth(cn *chainv1.ChainNetwork) (string, string) {
	script, err := os.ReadFile(filepath.Join("..", "config", "argocd", "health.lua"))
	Expect(err).NotTo(HaveOccurred())
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cn)
	Expect(err).NotTo(HaveOccurred())
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, m))
	fn, err := L.LoadString(string(script))
	Expect(err).NotTo(HaveOccurred())
	L.Push(fn)
	Expect(L.PCall(0, 1, nil)).To(Succeed())
	hs, ok := L.Get(-1).(*lua.LTable)
	Expect(ok).To(BeTrue(), "health.lua must return a table")
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

//go:build e2e

package e2e

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("the operator's metrics", Label("operator"), func() {
	It("are refused to a client the API server does not vouch for", func(ctx SpecContext) {
		// The API server's service proxy forwards no credentials: the operator sees an anonymous
		// client and must refuse it (controller-runtime's authn/authz filter).
		body, err := clientset.CoreV1().Services(operatorNamespace).
			ProxyGet("https", "chainnet-operator-metrics", "metrics", "/metrics", nil).DoRaw(ctx)
		Expect(err).To(HaveOccurred(), "metrics served to an anonymous client:\n%.300s", body)
		Expect(err.Error() + string(body)).To(MatchRegexp(`(?i)unauthorized|forbidden`))
	})
})

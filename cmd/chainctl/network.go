package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
	"github.com/chainnet/chainnet/internal/api"
)

// The `network` commands work on a ChainNetwork through the Kubernetes API (a kubeconfig): nodes
// are reached through the API server's pod proxy, so nothing needs a port-forward. The same
// commands are the kubectl plugin: installed as `kubectl-chainnet` (a link to chainctl), they
// answer `kubectl chainnet status NAME`.

func init() { extraCommands = append(extraCommands, newNetworkCommand) }

// kube holds what the network commands need from a kubeconfig.
type kube struct {
	kubeconfig, context, namespace string

	cfg       *rest.Config
	ns        string
	ctrl      ctrlclient.Client
	clientset *kubernetes.Clientset
}

func (k *kube) connect() error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if k.kubeconfig != "" {
		rules.ExplicitPath = k.kubeconfig
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.context})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	k.ns = k.namespace
	if k.ns == "" {
		if k.ns, _, err = loader.Namespace(); err != nil {
			return fmt.Errorf("kubeconfig namespace: %w", err)
		}
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(chainv1.AddToScheme(scheme))
	if k.ctrl, err = ctrlclient.New(cfg, ctrlclient.Options{Scheme: scheme}); err != nil {
		return err
	}
	k.cfg = cfg
	k.clientset, err = kubernetes.NewForConfig(cfg)
	return err
}

func (k *kube) network(ctx context.Context, name string) (*chainv1.ChainNetwork, error) {
	cn := &chainv1.ChainNetwork{}
	if err := k.ctrl.Get(ctx, ctrlclient.ObjectKey{Namespace: k.ns, Name: name}, cn); err != nil {
		return nil, fmt.Errorf("chainnetwork %s/%s: %w", k.ns, name, err)
	}
	return cn, nil
}

// nodePods are the network's node pods, sorted by name.
func (k *kube) nodePods(ctx context.Context, cn *chainv1.ChainNetwork) ([]corev1.Pod, error) {
	var pods corev1.PodList
	if err := k.ctrl.List(ctx, &pods, ctrlclient.InNamespace(cn.Namespace),
		ctrlclient.MatchingLabels{controllers.LabelNetwork: cn.Name, controllers.LabelComponent: "node"}); err != nil {
		return nil, err
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	return pods.Items, nil
}

// networkPods is the named network and its node pods.
func (k *kube) networkPods(ctx context.Context, name string) (*chainv1.ChainNetwork, []corev1.Pod, error) {
	cn, err := k.network(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	pods, err := k.nodePods(ctx, cn)
	return cn, pods, err
}

// nodeClient talks to one pod's chainnode API through the API server's pod proxy.
func (k *kube) nodeClient(cn *chainv1.ChainNetwork, pod string) (*client, error) {
	hc, err := rest.HTTPClientFor(k.cfg)
	if err != nil {
		return nil, err
	}
	hc.Timeout = 15 * time.Second
	port := cn.Spec.Service.APIPort
	if port == 0 {
		port = 8545
	}
	base := fmt.Sprintf("%s/api/v1/namespaces/%s/pods/%s:%d/proxy", strings.TrimRight(k.cfg.Host, "/"), cn.Namespace, pod, port)
	return &client{base: base, http: hc}, nil
}

func newNetworkCommand(g *globals) *cobra.Command {
	k := &kube{}
	cmd := &cobra.Command{
		Use:     "network",
		Aliases: []string{"net"},
		Short:   "Work with a ChainNetwork through the Kubernetes API (also `kubectl chainnet`)",
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := cmd.Root().PersistentPreRunE(cmd, args); err != nil {
				return err
			}
			return k.connect()
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	pf.StringVar(&k.context, "context", "", "kubeconfig context")
	pf.StringVarP(&k.namespace, "namespace", "n", "", "namespace (default: the context's)")
	cmd.AddCommand(newNetworkStatusCommand(g, k), newNetworkLogsCommand(k), newNetworkSendCommand(g, k), newNetworkAddOrgCommand(g, k))
	for _, mk := range networkCommands {
		cmd.AddCommand(mk(g, k))
	}
	return cmd
}

// networkCommands lets other files add `network` commands (the governance verbs).
var networkCommands []func(*globals, *kube) *cobra.Command

// nodeRow is one line of `network status`.
type nodeRow struct {
	Pod       string  `json:"pod"`
	Org       string  `json:"org"`
	Role      string  `json:"role"`
	Ready     bool    `json:"ready"`
	Reachable bool    `json:"reachable"`
	Height    uint64  `json:"height"`
	Peers     int     `json:"peers"`
	Syncing   bool    `json:"syncing"`
	Hashrate  float64 `json:"hashrate"`
	BestHash  string  `json:"bestHash"`
	Error     string  `json:"error,omitempty"`
}

type networkStatus struct {
	Name       string             `json:"name"`
	Namespace  string             `json:"namespace"`
	Membership string             `json:"membership"`
	Conditions []metav1.Condition `json:"conditions"`
	Nodes      []nodeRow          `json:"nodes"`
}

func newNetworkStatusCommand(g *globals, k *kube) *cobra.Command {
	return &cobra.Command{
		Use:   "status NAME",
		Short: "Every node of a network in one table: height, peers, sync, hash rate, best block",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cn, pods, err := k.networkPods(ctx, args[0])
			if err != nil {
				return err
			}
			st := networkStatus{Name: cn.Name, Namespace: cn.Namespace, Membership: string(cn.Spec.Membership), Conditions: cn.Status.Conditions}
			for _, p := range pods {
				row := nodeRow{Pod: p.Name, Org: p.Labels[controllers.LabelOrg], Role: p.Labels[controllers.LabelRole], Ready: podReady(p)}
				c, err := k.nodeClient(cn, p.Name)
				var s api.Status
				if err == nil {
					err = c.do(ctx, "GET", "/v1/status", nil, &s)
				}
				if err != nil {
					row.Error = err.Error()
				} else {
					row.Reachable, row.Height, row.Peers, row.Syncing, row.Hashrate, row.BestHash = true, s.Height, s.Peers, s.Syncing, s.Hashrate, s.BestHash
				}
				st.Nodes = append(st.Nodes, row)
			}
			return g.print(cmd.OutOrStdout(), st, func(w io.Writer) { writeNetworkStatus(w, st) })
		},
	}
}

func writeNetworkStatus(w io.Writer, st networkStatus) {
	fmt.Fprintf(w, "network %s/%s (%s)", st.Namespace, st.Name, st.Membership)
	for _, c := range st.Conditions {
		if c.Type == chainv1.ConditionReady {
			fmt.Fprintf(w, ": Ready=%s (%s) %s", c.Status, c.Reason, c.Message)
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tORG\tROLE\tREADY\tHEIGHT\tPEERS\tSYNCING\tHASHRATE\tBEST")
	for _, r := range st.Nodes {
		if !r.Reachable {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t-\t-\t-\t-\tunreachable: %s\n", r.Pod, r.Org, r.Role, r.Ready, r.Error)
			continue
		}
		best := r.BestHash
		if len(best) > 16 {
			best = best[:16]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%d\t%d\t%v\t%.2f MH/s\t%s\n", r.Pod, r.Org, r.Role, r.Ready, r.Height, r.Peers, r.Syncing, r.Hashrate/1e6, best)
	}
	tw.Flush()
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func newNetworkLogsCommand(k *kube) *cobra.Command {
	var node string
	var tail int64
	var previous bool
	cmd := &cobra.Command{
		Use:   "logs NAME",
		Short: "The nodes' logs, each line prefixed with its pod",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cn, pods, err := k.networkPods(ctx, args[0])
			if err != nil {
				return err
			}
			found := false
			for _, p := range pods {
				if node != "" && p.Name != node {
					continue
				}
				found = true
				opts := &corev1.PodLogOptions{Container: "chainnode", Previous: previous}
				if tail >= 0 {
					opts.TailLines = &tail
				}
				rc, err := k.clientset.CoreV1().Pods(p.Namespace).GetLogs(p.Name, opts).Stream(ctx)
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", p.Name, err)
					continue
				}
				sc := bufio.NewScanner(rc)
				sc.Buffer(make([]byte, 64<<10), 1<<20)
				for sc.Scan() {
					fmt.Fprintf(cmd.OutOrStdout(), "[%s] %s\n", p.Name, sc.Text())
				}
				rc.Close()
			}
			if node != "" && !found {
				return fmt.Errorf("network %s has no node pod %q", cn.Name, node)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&node, "node", "", "only this pod")
	cmd.Flags().Int64Var(&tail, "tail", 20, "lines per node (-1: all)")
	cmd.Flags().BoolVar(&previous, "previous", false, "the previous container's logs")
	return cmd
}

func newNetworkSendCommand(g *globals, k *kube) *cobra.Command {
	var t transfer
	var through string
	cmd := &cobra.Command{
		Use:   "send NAME --to ADDRESS --amount N --key FILE",
		Short: "Sign a transfer here and submit it to a ready node of the network",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cn, pods, err := k.networkPods(ctx, args[0])
			if err != nil {
				return err
			}
			node := through
			for _, p := range pods {
				if node == "" && podReady(p) {
					node = p.Name
				}
			}
			if node == "" {
				return fmt.Errorf("network %s has no ready node", cn.Name)
			}
			c, err := k.nodeClient(cn, node)
			if err != nil {
				return err
			}
			return sendTransfer(cmd, g, c, t)
		},
	}
	t.addFlags(cmd)
	cmd.Flags().StringVar(&through, "node", "", "submit through this pod (default: the first ready node)")
	return cmd
}

func newNetworkAddOrgCommand(g *globals, k *kube) *cobra.Command {
	var validators, observers int32
	cmd := &cobra.Command{
		Use:   "add-org NAME ORG --validators N [--observers M]",
		Short: "Add an organization to a network (its nodes join without restarting the others)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cn, err := k.network(ctx, args[0])
			if err != nil {
				return err
			}
			patch, err := addOrgPatch(cn, chainv1.Organization{Name: args[1], Validators: validators, Observers: observers})
			if err != nil {
				return err
			}
			if err := k.ctrl.Patch(ctx, cn, ctrlclient.RawPatch("application/merge-patch+json", patch)); err != nil {
				return fmt.Errorf("add organization %s: %w", args[1], err)
			}
			return g.print(cmd.OutOrStdout(), map[string]any{"network": cn.Name, "organization": args[1], "generation": cn.Generation}, func(w io.Writer) {
				fmt.Fprintf(w, "organization %s added to %s/%s (generation %d); `status %s` shows its nodes joining\n", args[1], cn.Namespace, cn.Name, cn.Generation, cn.Name)
			})
		},
	}
	cmd.Flags().Int32Var(&validators, "validators", 1, "mining nodes of the organization")
	cmd.Flags().Int32Var(&observers, "observers", 0, "non-mining nodes of the organization")
	return cmd
}

// addOrgPatch is the merge patch that appends org to the network's organizations; it carries the
// resourceVersion, so a concurrent edit makes it fail instead of being overwritten.
func addOrgPatch(cn *chainv1.ChainNetwork, org chainv1.Organization) ([]byte, error) {
	for _, o := range cn.Spec.Organizations {
		if o.Name == org.Name {
			return nil, fmt.Errorf("network %s already has an organization %q", cn.Name, org.Name)
		}
	}
	orgs := append(append([]chainv1.Organization{}, cn.Spec.Organizations...), org)
	return json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": cn.ResourceVersion},
		"spec":     map[string]any{"organizations": orgs},
	})
}

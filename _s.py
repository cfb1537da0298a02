import numpy as np, numpykan as nk
from numpykan.interpretation.symbolic_edges import edge_values
rng=np.random.default_rng(0)
m = nk.KAN([2,[3,2],[1,2],1], mult_arity=[[],[2,3],[2,2],[]], grid=4, seed=0)
for layer in m.layers:
    layer.coef[...] = rng.normal(0,0.4,layer.coef.shape)
x = rng.uniform(-1,1,(100,2))
a = m.attribute(x)
print([n.round(3) for n in a.node_scores])
p = m.prune(node_th=0.3, x=x)
print(p.width, p.mult_arity, p.kept_nodes, p.kept_subnodes, p.config)
m.remove_node(1, 4)
m.remove_node(2, 0)
p = m.prune(x=x)
print(p.width, p.mult_arity, p.nodes, p.kept_nodes)
print(p.forward(x).shape)
q = nk.KAN([2,[2,1],1], seed=0); q.remove_node(1,2); q.forward(x); r=q.prune(); print(r.width, r.nodes, r.width_in, r.config.get("mult_arity"), repr(r))

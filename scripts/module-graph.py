#!/usr/bin/env python3
"""The import graph of hub's top-level modules (crate::NAME paths outside comments and
test modules), and its cycles. `-v` also prints every edge. Exits 1 when there is a cycle.

    scripts/module-graph.py [-v]
"""
import re,os,sys,collections
root=os.path.join(os.path.dirname(os.path.abspath(__file__)),'..','hub','src')
mods=set()
for f in os.listdir(root):
    if f.endswith('.rs') and f not in('lib.rs','main.rs'): mods.add(f[:-3])
    elif os.path.isdir(os.path.join(root,f)): mods.add(f)
edges=collections.defaultdict(set)
for dp,_,fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'): continue
        p=os.path.join(dp,f); rel=os.path.relpath(p,root)
        top=rel.split('/')[0].replace('.rs','')
        if top in('lib','main'): continue
        s=open(p).read()
        s=re.sub(r'^\s*//.*$','',s,flags=re.M)
        s=re.sub(r'#\[cfg\(test\)\]\s*mod tests \{.*','',s,flags=re.S)
        for m in re.findall(r'crate::([a-z_]+)',s):
            if m in mods and m!=top: edges[top].add(m)
        for grp in re.findall(r'crate::\{([^}]*)\}',s):
            for m in re.findall(r'\b([a-z_]+)\b',grp):
                if m in mods and m!=top: edges[top].add(m)
# find SCCs
idx={};low={};st=[];on=set();res=[];c=[0]
def sc(v):
    idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
    for w in edges[v]:
        if w not in idx: sc(w);low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],idx[w])
    if low[v]==idx[v]:
        comp=[]
        while True:
            w=st.pop();on.discard(w);comp.append(w)
            if w==v:break
        res.append(comp)
sys.setrecursionlimit(10000)
for v in sorted(mods):
    if v not in idx: sc(v)
cyc=[r for r in res if len(r)>1]
print("cycles:",cyc)
if cyc: sys.exit(1)
if '-v' in sys.argv:
    for k in sorted(edges): print(k,'->',sorted(edges[k]))

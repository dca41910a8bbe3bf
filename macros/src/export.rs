//! The formula as data: the graph after the rewrites, emitted as the runtime's `ir::Ir`
//! constant (`Formula::IR`), for backends other than the CPU kernels (the runtime's WGSL
//! backend). The macro emits no backend code of its own.
//!
//! The nodes the exported expressions use are emitted depth first (children before parents),
//! with the products the kernels fuse as the fused operations (`sigmoid_product`,
//! `mul_sigmoid`, `linear_mul_sigmoid`), as each kernel fuses them: the graph evaluates to
//! what the kernels compute, bit for bit.

use crate::expand::{Fused, float_tokens, fused_products, named_tokens};
use crate::ir::{Bin, Cmp, Graph, Id, Node, Un};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use std::collections::HashMap;

/// The roots to export.
pub struct Roots<'a> {
    pub inputs: usize,
    pub params: usize,
    pub forward: Id,
    /// One per input, then one per parameter.
    pub partials: &'a [Id],
    pub second: Option<Id>,
    /// The second partials of a formula of several inputs (i ≤ j, row by row).
    pub seconds: &'a [Id],
    pub from_output: Option<Id>,
}

/// The `ir::Ir` expression for `roots` (`rt`: the runtime's contract module).
///
/// Products with a sigmoid are fused as the kernels fuse them: the forward expression with
/// `a·σ(u)` rounded once (`mul_sigmoid`), the derived ones with `σ(a)·σ(−a)` only. A node
/// whose form differs between the two is exported twice, once for each.
pub fn ir_tokens(g: &Graph, roots: &Roots, rt: &TokenStream) -> TokenStream {
    let exact = fused_products(g, true);
    let plain = fused_products(g, false);
    // Whether a node's exported form differs between the two fusions.
    let mut differs = vec![false; g.nodes.len()];
    for id in 0..g.nodes.len() {
        let fe = exact.get(&id).map(|f| f.operands());
        let fp = plain.get(&id).map(|f| f.operands());
        let own = fe != fp;
        let ops = match (exact.get(&id), plain.get(&id)) {
            (Some(f), _) | (None, Some(f)) => f.operands(),
            (None, None) => crate::ir::children(g.nodes[id]),
        };
        differs[id] = own
            || ops.iter().any(|&c| differs[c])
            || crate::ir::children(g.nodes[id]).iter().any(|&c| differs[c]);
    }
    let mut out = Export {
        g,
        exact: &exact,
        plain: &plain,
        differs: &differs,
        index: std::collections::HashMap::new(),
        nodes: Vec::new(),
        rt,
    };
    let forward = out.node(roots.forward, true);
    let partials: Vec<usize> = roots.partials.iter().map(|&p| out.node(p, false)).collect();
    let second = roots.second.map(|r| out.node(r, false));
    let seconds: Vec<usize> = roots.seconds.iter().map(|&r| out.node(r, false)).collect();
    let from_output = roots.from_output.map(|r| out.node(r, false));
    let opt = |r: Option<usize>| match r {
        Some(r) => quote!(::core::option::Option::Some(#r)),
        None => quote!(::core::option::Option::None),
    };
    let (second, from_output) = (opt(second), opt(from_output));
    let (inputs, params) = (roots.inputs, roots.params);
    let nodes = &out.nodes;
    quote! {
        #rt::ir::Ir {
            nodes: &[#( #nodes ),*],
            inputs: #inputs,
            params: #params,
            forward: #forward,
            partials: &[#( #partials ),*],
            second: #second,
            seconds: &[#( #seconds ),*],
            from_output: #from_output,
        }
    }
}

/// The exported nodes, built depth first (children before parents).
struct Export<'a> {
    g: &'a Graph,
    exact: &'a HashMap<Id, Fused>,
    plain: &'a HashMap<Id, Fused>,
    differs: &'a [bool],
    /// (node, forward form) → exported index.
    index: HashMap<(Id, bool), usize>,
    nodes: Vec<TokenStream>,
    rt: &'a TokenStream,
}

impl Export<'_> {
    /// The exported index of `id` in the forward form (`exact`) or the derived one.
    fn node(&mut self, id: Id, exact: bool) -> usize {
        // Nodes alike in both forms are exported once.
        let exact = exact && self.differs[id];
        if let Some(&i) = self.index.get(&(id, exact)) {
            return i;
        }
        let fused = if exact { self.exact } else { self.plain };
        let rt = self.rt;
        let n = quote!(#rt::ir::Node);
        let tokens = match fused.get(&id).copied() {
            Some(Fused::SigmoidProduct(a)) => {
                let a = self.node(a, exact);
                quote!(#n::SigmoidProduct(#a))
            }
            Some(Fused::MulSigmoidProduct(a, u)) => {
                let (a, u) = (self.node(a, exact), self.node(u, exact));
                quote!(#n::MulSigmoidProduct(#a, #u))
            }
            Some(Fused::Mul2SigmoidProduct(a, b, u)) => {
                let (a, b) = (self.node(a, exact), self.node(b, exact));
                let u = self.node(u, exact);
                quote!(#n::Mul2SigmoidProduct(#a, #b, #u))
            }
            Some(Fused::MulSigmoid(a, u)) => {
                let (a, u) = (self.node(a, exact), self.node(u, exact));
                quote!(#n::MulSigmoid(#a, #u))
            }
            Some(Fused::LinearMulSigmoid(a, u)) => {
                let (a, u) = (self.node(a, exact), self.node(u, exact));
                quote!(#n::LinearMulSigmoid(#a, #u))
            }
            Some(Fused::MulSigmoidShifted(a, u, lo)) => {
                let (a, u) = (self.node(a, exact), self.node(u, exact));
                let lo = self.node(lo, exact);
                quote!(#n::MulSigmoidShifted(#a, #u, #lo))
            }
            Some(Fused::MulErfc(a, u)) => {
                let (a, u) = (self.node(a, exact), self.node(u, exact));
                quote!(#n::MulErfc(#a, #u))
            }
            Some(Fused::MulErfcShifted(a, u, lo)) => {
                let (a, u) = (self.node(a, exact), self.node(u, exact));
                let lo = self.node(lo, exact);
                quote!(#n::MulErfcShifted(#a, #u, #lo))
            }
            None => {
                let mut ix = std::collections::HashMap::new();
                for c in crate::ir::children(self.g.nodes[id]) {
                    let i = self.node(c, exact);
                    ix.insert(c, i);
                }
                node_tokens(self.g, id, &n, rt, &|c: Id| {
                    let i = ix[&c];
                    quote!(#i)
                })
            }
        };
        let i = self.nodes.len();
        self.nodes.push(tokens);
        self.index.insert((id, exact), i);
        i
    }
}

/// One unfused node.
fn node_tokens(
    g: &Graph,
    id: Id,
    n: &TokenStream,
    rt: &TokenStream,
    ix: &dyn Fn(Id) -> TokenStream,
) -> TokenStream {
    let u = quote!(#rt::ir::Unary);
    let b = quote!(#rt::ir::Binary);
    let c = quote!(#rt::ir::Compare);
    match g.nodes[id] {
        Node::Const(b64, b32) => {
            let s = float_tokens(f32::from_bits(b32) as f64, "f32");
            let d = float_tokens(f64::from_bits(b64), "f64");
            quote!(#n::Const(#s, #d))
        }
        Node::Named(i) => {
            let (p32, p64) = named_tokens(g, i);
            let span = g.spans[id];
            quote_spanned!(span=> #n::Const(#p32, #p64))
        }
        Node::Input(k) => quote!(#n::Input(#k)),
        Node::Param(i) => quote!(#n::Param(#i)),
        Node::Unary(op, a) | Node::Shifted(op, a, _) => {
            let op = format_ident!(
                "{}",
                match op {
                    Un::Neg => "Neg",
                    Un::Abs => "Abs",
                    Un::Sqrt => "Sqrt",
                    Un::Exp => "Exp",
                    Un::ExpM1 => "ExpM1",
                    Un::Ln => "Ln",
                    Un::Ln1p => "Ln1p",
                    Un::Tanh => "Tanh",
                    Un::Sigmoid => "Sigmoid",
                    Un::Softplus => "Softplus",
                    Un::Sin => "Sin",
                    Un::Cos => "Cos",
                    Un::Erf => "Erf",
                    Un::Erfc => "Erfc",
                }
            );
            let a = ix(a);
            match g.nodes[id] {
                Node::Shifted(_, _, lo) => {
                    let lo = ix(lo);
                    quote!(#n::Shifted(#u::#op, #a, #lo))
                }
                _ => quote!(#n::Unary(#u::#op, #a)),
            }
        }
        Node::Binary(op, x, y) | Node::RoundErr(op, x, y) => {
            let op = format_ident!(
                "{}",
                match op {
                    Bin::Add => "Add",
                    Bin::Sub => "Sub",
                    Bin::Mul => "Mul",
                    Bin::Div => "Div",
                    Bin::Max => "Max",
                    Bin::Min => "Min",
                    Bin::Powf => "Powf",
                }
            );
            let (x, y) = (ix(x), ix(y));
            match g.nodes[id] {
                Node::RoundErr(..) => quote!(#n::RoundErr(#b::#op, #x, #y)),
                _ => quote!(#n::Binary(#b::#op, #x, #y)),
            }
        }
        Node::Powi(a, k) => {
            let a = ix(a);
            quote!(#n::Powi(#a, #k))
        }
        Node::Cmp(op, x, y) => {
            let op = format_ident!(
                "{}",
                match op {
                    Cmp::Lt => "Lt",
                    Cmp::Le => "Le",
                    Cmp::Gt => "Gt",
                    Cmp::Ge => "Ge",
                }
            );
            let (x, y) = (ix(x), ix(y));
            quote!(#n::Compare(#c::#op, #x, #y))
        }
        Node::And(x, y) => {
            let (x, y) = (ix(x), ix(y));
            quote!(#n::And(#x, #y))
        }
        Node::Or(x, y) => {
            let (x, y) = (ix(x), ix(y));
            quote!(#n::Or(#x, #y))
        }
        Node::Not(a) => {
            let a = ix(a);
            quote!(#n::Not(#a))
        }
        Node::Select(m, x, y) => {
            let (m, x, y) = (ix(m), ix(x), ix(y));
            quote!(#n::Select(#m, #x, #y))
        }
    }
}

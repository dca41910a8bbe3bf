//! The formula as data: the graph after the rewrites, emitted as the runtime's `ir::Ir`
//! constant (`Formula::IR`), for backends other than the CPU kernels (the runtime's WGSL
//! backend). The macro emits no backend code of its own.
//!
//! The nodes live in any of the exported expressions are emitted, renumbered in order (the
//! arena's order: children before parents). Products with a sigmoid are emitted as the fused
//! operations the forward kernel uses (`sigmoid_product`, `mul_sigmoid`,
//! `linear_mul_sigmoid`), in every expression.

use crate::expand::{Fused, float_tokens, fused_products, named_tokens};
use crate::ir::{Bin, Cmp, Graph, Id, Node, Un};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

/// The roots to export.
pub struct Roots<'a> {
    pub inputs: usize,
    pub params: usize,
    pub forward: Id,
    /// One per input, then one per parameter.
    pub partials: &'a [Id],
    pub second: Option<Id>,
    pub from_output: Option<Id>,
}

/// The `ir::Ir` expression for `roots` (`rt`: the runtime's contract module).
pub fn ir_tokens(g: &Graph, roots: &Roots, rt: &TokenStream) -> TokenStream {
    let fused = fused_products(g, true);
    let mut all = vec![roots.forward];
    all.extend_from_slice(roots.partials);
    all.extend(roots.second);
    all.extend(roots.from_output);
    let mut live = vec![false; g.nodes.len()];
    for &r in &all {
        live[r] = true;
    }
    for id in (0..g.nodes.len()).rev() {
        if live[id] {
            let ops = match fused.get(&id) {
                Some(f) => f.operands(),
                None => crate::ir::children(g.nodes[id]),
            };
            for c in ops {
                live[c] = true;
            }
        }
    }
    // New index of each live node.
    let mut index = vec![usize::MAX; g.nodes.len()];
    let mut next = 0;
    for (id, l) in live.iter().enumerate() {
        if *l {
            index[id] = next;
            next += 1;
        }
    }
    let ix = |id: Id| {
        let i = index[id];
        debug_assert!(i != usize::MAX, "operand {id} not exported");
        quote!(#i)
    };
    let n = quote!(#rt::ir::Node);
    let mut nodes = Vec::new();
    for id in (0..g.nodes.len()).filter(|&id| live[id]) {
        let tokens = match fused.get(&id) {
            Some(&Fused::SigmoidProduct(a)) => {
                let a = ix(a);
                quote!(#n::SigmoidProduct(#a))
            }
            Some(&Fused::MulSigmoid(a, u)) => {
                let (a, u) = (ix(a), ix(u));
                quote!(#n::MulSigmoid(#a, #u))
            }
            Some(&Fused::LinearMulSigmoid(a, u)) => {
                let (a, u) = (ix(a), ix(u));
                quote!(#n::LinearMulSigmoid(#a, #u))
            }
            None => node_tokens(g, id, &n, rt, &ix),
        };
        nodes.push(tokens);
    }
    let forward = ix(roots.forward);
    let partials: Vec<TokenStream> = roots.partials.iter().map(|&p| ix(p)).collect();
    let opt = |r: Option<Id>| match r {
        Some(r) => {
            let r = ix(r);
            quote!(::core::option::Option::Some(#r))
        }
        None => quote!(::core::option::Option::None),
    };
    let (second, from_output) = (opt(roots.second), opt(roots.from_output));
    let (inputs, params) = (roots.inputs, roots.params);
    quote! {
        #rt::ir::Ir {
            nodes: &[#( #nodes ),*],
            inputs: #inputs,
            params: #params,
            forward: #forward,
            partials: &[#( #partials ),*],
            second: #second,
            from_output: #from_output,
        }
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
        Node::Unary(op, a) => {
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
            quote!(#n::Unary(#u::#op, #a))
        }
        Node::Binary(op, x, y) => {
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
            quote!(#n::Binary(#b::#op, #x, #y))
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

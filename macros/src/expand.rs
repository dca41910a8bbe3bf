//! Expansion: the pipeline in one place, and the code it emits.
//!
//! `parse → lower → check → rewrite → differentiate → analyse (and patch) → guards → emit`. On any error the original function
//! is still emitted (with the `#[default]` attributes removed) next to the `compile_error!`s, so
//! the IDE keeps working and the user sees only the mistakes.

use crate::accuracy::{Exprs, analyse};
use crate::diff::{Var, diff};
use crate::guards::{Flags, flags};
use crate::ir::{Bin, Cmp, Graph, Id, Node, Un};
use crate::lower::Lowerer;
use crate::parse::{Model, parse, parse_args};
use crate::paths::rt;
use crate::print::{Names, print};
use crate::rewrite::rewrite;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use std::collections::HashMap;
use syn::ItemFn;

pub fn activation(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item) {
        Ok(f) => f,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Vec::new();
    let args = parse_args(attr).unwrap_or_else(|e| {
        errors.push(e);
        Default::default()
    });
    let model = parse(args, func, &mut errors);

    let inputs: Vec<String> = model.inputs.iter().map(|i| i.to_string()).collect();
    let params: Vec<String> = model.params.iter().map(|p| p.ident.to_string()).collect();
    let mut lower = Lowerer::new(&inputs, &params);
    let root = lower.block(&model.func.block);
    errors.append(&mut lower.errors);
    let mut g = lower.g;

    // Every parameter must matter: an unused one is almost always a typo in the formula.
    // (Only checked on a formula that lowered cleanly: placeholders hide uses.)
    let live = g.reachable(&[root]);
    for (i, p) in model.params.iter().enumerate() {
        if errors.is_empty() && !live[g.param(i)] {
            errors.push(syn::Error::new(
                p.ident.span(),
                format!("parameter `{}` is not used by the formula", p.ident),
            ));
        }
    }
    // So must every input of a formula with several (a one-input formula may be constant).
    if model.inputs.len() > 1 {
        for (k, input) in model.inputs.iter().enumerate() {
            if errors.is_empty() && !live[g.input_at(k)] {
                errors.push(syn::Error::new(
                    input.span(),
                    format!(
                        "input `{input}` is not used by the formula (a parameter needs a \
                         default: `#[default(1.0)] {input}: f32`)"
                    ),
                ));
            }
        }
        if errors.is_empty() && model.require_from_output {
            errors.push(syn::Error::new(
                model.func.sig.ident.span(),
                "`from_output` applies to formulas of one input: with several, the output does \
                 not determine the inputs",
            ));
        }
    }

    if !errors.is_empty() {
        let mut combined = errors.remove(0);
        for e in errors {
            combined.combine(e);
        }
        let err = combined.to_compile_error();
        let original = original_fn(&model);
        return quote!(#err #original);
    }

    // The stability rewrites run on the formula and again on every derived expression: a
    // derivative can hold `exp(u) - 1` or `1/(1 + u) - 1` where the formula has no such form.
    let mut rewrites = Vec::new();
    let mut stable = |g: &mut Graph, id: Id| {
        let (id, fired) = rewrite(g, id);
        add_names(&mut rewrites, fired);
        id
    };
    let root = stable(&mut g, root);
    if model.inputs.len() > 1 {
        // Every partial: the inputs', then the parameters'.
        let partials: Vec<Id> = (0..model.inputs.len())
            .map(Var::Input)
            .chain((0..params.len()).map(Var::Param))
            .map(|v| {
                let d = diff(&mut g, root, v);
                stable(&mut g, d)
            })
            .collect();
        // The second partials ∂²f/∂x_i∂x_j of the inputs, i ≤ j, row by row.
        let k = model.inputs.len();
        let second: Vec<Id> = (0..k)
            .flat_map(|i| (i..k).map(move |j| (i, j)))
            .map(|(i, j)| {
                let d = diff(&mut g, partials[i], Var::Input(j));
                stable(&mut g, d)
            })
            .collect();
        return emit_multi(&model, &g, root, (&partials, &second), &rewrites);
    }
    // The derivatives, as a function of the forward expression: the error analysis calls it
    // again on the forward it patches.
    // Each version's rewrites are its own: the docs list those of the version emitted.
    let nparams = params.len();
    let mut derive = |g: &mut Graph, root: Id| {
        let mut rewrites = Vec::new();
        let mut stable = |g: &mut Graph, id: Id| {
            let (id, fired) = rewrite(g, id);
            add_names(&mut rewrites, fired);
            id
        };
        let dx = diff(g, root, Var::Input(0));
        let dx = stable(g, dx);
        let dps = (0..nparams)
            .map(|i| {
                let d = diff(g, root, Var::Param(i));
                stable(g, d)
            })
            .collect();
        let d2 = diff(g, dx, Var::Input(0));
        let d2 = stable(g, d2);
        Exprs {
            root,
            dx,
            dps,
            d2,
            rewrites,
        }
    };
    let exprs = derive(&mut g, root);
    let defaults: Vec<f64> = model.params.iter().map(|p| p.default).collect();
    let outcome = analyse(&mut g, exprs, &defaults, (&inputs[0], &params), &mut derive);
    if model.strict && !outcome.misses.is_empty() {
        let msg = format!(
            "`strict`: the f32 kernels of `{}` miss the accuracy targets (forward within {} ULP, \
             derivatives within {:.0e} relative) after every repair the macro has: {}",
            model.func.sig.ident,
            crate::analysis::FWD_ULP,
            crate::analysis::DERIV_REL,
            outcome.misses.join("; ")
        );
        let err = syn::Error::new(model.func.sig.ident.span(), msg).to_compile_error();
        let original = original_fn(&model);
        return quote!(#err #original);
    }
    let Exprs {
        root,
        dx,
        dps,
        d2,
        rewrites: derived,
    } = outcome.exprs;
    add_names(&mut rewrites, derived);
    let ranges: Vec<(f64, f64)> = model.params.iter().map(|p| p.range).collect();
    let from_output = crate::output::from_output(&mut g, root, &ranges, &params);
    if let (true, Err(why)) = (model.require_from_output, &from_output) {
        let msg = format!(
            "`from_output`: the derivative of `{}` cannot be written in terms of its output: {why}",
            model.func.sig.ident
        );
        let err = syn::Error::new(model.func.sig.ident.span(), msg).to_compile_error();
        let original = original_fn(&model);
        return quote!(#err #original);
    }
    emit(
        &model,
        &g,
        [root, dx, d2],
        &dps,
        (&rewrites, &outcome.doc),
        from_output.ok(),
    )
}

/// The user's function, unchanged but for the `#[default]` attributes, with the runtime's free
/// functions in scope, except those whose names the function's arguments take (a `use` in the
/// body would shadow an argument named `erf`; lowering rejects calling a function so shadowed).
fn original_fn(model: &Model) -> TokenStream {
    let rt = rt(&model.krate);
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = &model.func;
    let taken: Vec<String> = model
        .inputs
        .iter()
        .chain(model.params.iter().map(|p| &p.ident))
        .map(|i| i.to_string())
        .collect();
    let functions = crate::lower::FUNCTIONS
        .iter()
        .filter(|f| !taken.iter().any(|t| t == *f))
        .map(|f| format_ident!("{}", f));
    let stmts = &block.stmts;
    quote! {
        #(#attrs)*
        // Literals may carry f64 precision for the f64 kernels.
        #[allow(clippy::excessive_precision)]
        #vis #sig {
            #[allow(unused_imports)]
            use #rt::functions::{#(#functions),*};
            #(#stmts)*
        }
    }
}

/// `values` is `[f, ∂f/∂x, ∂²f/∂x²]`; `dps` the parameter derivatives.
fn emit(
    model: &Model,
    g: &Graph,
    values: [Id; 3],
    dps: &[Id],
    (rewrites, accuracy_doc): (&[&'static str], &str),
    from_output: Option<Id>,
) -> TokenStream {
    let [root, dx, d2] = values;
    let rt = rt(&model.krate);
    let name = &model.struct_name;
    let fn_name = &model.func.sig.ident;
    let input = model.inputs[0].to_string();
    let param_names: Vec<String> = model.params.iter().map(|p| p.ident.to_string()).collect();
    let input_names = [input.clone()];
    let names = Names {
        inputs: &input_names,
        params: &param_names,
    };
    let fields: Vec<_> = model.params.iter().map(|p| &p.ident).collect();
    let defaults = defaults(model);

    // Docs.
    let formula = print(g, &names, root);
    let mut derivs = vec![print(g, &names, dx)];
    derivs.extend(dps.iter().map(|&d| print(g, &names, d)));
    let second = print(g, &names, d2);
    let mut doc = format!(
        "\n\nGenerated by `#[activation]` from [`{fn_name}`]: forward, backward and \
         parameter-gradient kernels over `f32` and `f64` slices (see `actigen::Activation`).\n\n\
         f({input}) = `{formula}`\n\nDerived:\n- ∂f/∂{input} = `{}`\n",
        derivs[0]
    );
    for (p, d) in param_names.iter().zip(&derivs[1..]) {
        doc.push_str(&format!("- ∂f/∂{p} = `{d}`\n"));
    }
    doc.push_str(&format!("- ∂²f/∂{input}² = `{second}`\n"));
    let y_names = Names {
        inputs: &["y".to_string()],
        params: &param_names,
    };
    let from_output_doc = from_output.map(|d| print(g, &y_names, d));
    if let Some(d) = &from_output_doc {
        doc.push_str(&format!(
            "- in terms of the output y = f({input}): ∂f/∂{input} = `{d}` (see `backward_from_output`)\n"
        ));
    }
    doc.push_str(&rewrites_doc(rewrites));
    doc.push_str(accuracy_doc);
    let new_doc = new_doc(&param_names);

    // Kernel bodies, and their checked forms where the ±inf guard needs them (elsewhere a form
    // that is never called: the plain body and an all-false mask).
    let mut grad_roots = vec![dx];
    grad_roots.extend_from_slice(dps);
    let ir = crate::export::ir_tokens(
        g,
        &crate::export::Roots {
            inputs: 1,
            params: dps.len(),
            forward: root,
            partials: &grad_roots,
            second: Some(d2),
            seconds: &[],
            from_output,
        },
        &rt,
    );
    let with_checked = |roots: &[Id], exact: bool, params: Params| {
        let (plain, flags) = body(g, roots, model, exact, false, params);
        let checked = if flags.inf {
            body(g, roots, model, exact, true, Params::Fields).0
        } else {
            // The checked forms read the fields (they have no `__p`).
            let plain = match params {
                Params::Fields => plain.clone(),
                Params::Vectors => body(g, roots, model, exact, false, Params::Fields).0,
            };
            let q = (0..roots.len()).map(|i| format_ident!("__q{}", i));
            quote!(#plain #(let #q = __x.lt(__x);)*)
        };
        (plain, checked, flags)
    };
    // The forward, derivative and gradient bodies read the parameters from vectors (`__p`), so
    // per-channel parameters can differ from lane to lane; the others read the fields.
    let (fwd_body, fwd_checked, fwd_flags) = with_checked(&[root], true, Params::Vectors);
    let (dx_body, dx_checked, dx_flags) = with_checked(&[dx], false, Params::Vectors);
    let (grads_body, grads_checked, grads_flags) =
        with_checked(&grad_roots, false, Params::Vectors);
    let (d2_body, d2_checked, d2_flags) = with_checked(&[d2], false, Params::Fields);
    // Without a from-output form the trait's defaults stand (never called: the runtime checks
    // `FROM_OUTPUT` first), and the guard is unused.
    let from_output_bodies = from_output.map(|d| with_checked(&[d], false, Params::Fields));
    let fo_flags = from_output_bodies.as_ref().map_or(
        Flags {
            nan: false,
            inf: false,
        },
        |b| b.2,
    );
    let guard = |f: Flags| guard_tokens(&rt, f);
    let (gf, gd, gg, g2, go) = (
        guard(fwd_flags),
        guard(dx_flags),
        guard(grads_flags),
        guard(d2_flags),
        guard(fo_flags),
    );

    let struct_def = struct_tokens(model, &doc, &new_doc);
    let (range_lo, range_hi) = ranges(model);
    let access = param_access(model);
    let fo_const = match &from_output_doc {
        Some(d) => quote!(::core::option::Option::Some(#d)),
        None => quote!(::core::option::Option::None),
    };
    let from_output_methods = from_output_doc.as_ref().map(|d| {
        let doc = format!(
            "`dx = dy · f′(x)` computed from the output `y = f(x)` alone, with f′ = `{d}`, so the \
             input need not be kept for the backward pass. An error if the lengths differ or a \
             parameter is outside its declared range."
        );
        quote! {
            impl #name {
                #[doc = #doc]
                pub fn try_backward_from_output<__T: #rt::Storage>(
                    &self,
                    y: &[__T],
                    dy: &[__T],
                    dx: &mut [__T],
                ) -> ::core::result::Result<(), #rt::Error>
                where
                    Self: #rt::Activation<__T>,
                {
                    #rt::Activation::<__T>::try_backward_from_output_on(
                        self,
                        #rt::try_active_isa()?,
                        y,
                        dy,
                        dx,
                    )
                }
                #[doc = #doc]
                ///
                /// # Panics
                /// On the errors of `try_backward_from_output`.
                #[track_caller]
                pub fn backward_from_output<__T: #rt::Storage>(&self, y: &[__T], dy: &[__T], dx: &mut [__T])
                where
                    Self: #rt::Activation<__T>,
                {
                    if let ::core::result::Result::Err(e) = self.try_backward_from_output(y, dy, dx) {
                        panic!("actigen: {}", e);
                    }
                }
            }
        }
    });
    let from_output_fns = from_output_bodies.map(|(fo_body, fo_checked, _)| {
        quote! {
            #[inline(always)]
            fn derivative_from_output_raw<__V: #rt::Vector>(&self, __x: __V) -> __V {
                #fo_body
                __r0
            }
            #[inline(always)]
            fn derivative_from_output_checked<__V: #rt::Vector>(&self, __x: __V) -> (__V, <__V as #rt::Vector>::Mask) {
                #fo_checked
                (__r0, __q0)
            }
        }
    });
    let original = original_fn(model);
    let np = fields.len();
    // `[__r0 (∂f/∂x), __r1 … (∂f/∂p), __x …]`: the runtime reads only the first 1 + np.
    let grad_items: Vec<TokenStream> = (0..=crate::parse::MAX_PARAMS)
        .map(|i| {
            if i <= np {
                let r = format_ident!("__r{}", i);
                quote!(#r)
            } else {
                quote!(__x)
            }
        })
        .collect();
    let grad_masks: Vec<TokenStream> = (0..=crate::parse::MAX_PARAMS)
        .map(|i| {
            if i <= np {
                let q = format_ident!("__q{}", i);
                quote!(#q)
            } else {
                quote!(__x.lt(__x))
            }
        })
        .collect();
    let max_params = crate::parse::MAX_PARAMS;
    // `param_vectors`: each parameter splat, then `__x` as filler.
    let param_splats: Vec<TokenStream> = (0..max_params)
        .map(|i| match fields.get(i) {
            Some(f) => quote!(__x.splat(self.#f as f64)),
            None => quote!(__x),
        })
        .collect();

    quote! {
        #original
        #struct_def
        #from_output_methods
        // Derived constants are emitted as exact literals (2/√π appears as 1.1283791670955126).
        #[allow(clippy::approx_constant, clippy::excessive_precision, clippy::unreadable_literal)]
        impl #rt::Formula for #name {
            const NAME: &'static str = stringify!(#fn_name);
            const INPUT_NAME: &'static str = #input;
            const PARAM_NAMES: &'static [&'static str] = &[#( stringify!(#fields) ),*];
            const PARAM_DEFAULTS: &'static [f32] = &[#( #defaults ),*];
            const FORMULA: &'static str = #formula;
            const DERIVATIVES: &'static [&'static str] = &[#( #derivs ),*];
            const SECOND_DERIVATIVE: &'static str = #second;
            const FROM_OUTPUT: ::core::option::Option<&'static str> = #fo_const;
            const PARAM_RANGES: &'static [(f64, f64)] = &[#( (#range_lo, #range_hi) ),*];
            const IR: #rt::ir::Ir = #ir;
            const GUARDS: #rt::Guards = #rt::Guards {
                forward: #gf,
                derivative: #gd,
                grads: #gg,
                second: #g2,
                from_output: #go,
            };
            #access
            #[inline(always)]
            fn param_vectors<__V: #rt::Vector>(&self, __x: __V) -> [__V; #max_params] {
                [#( #param_splats ),*]
            }
            #[inline(always)]
            fn forward_raw_with<__V: #rt::Vector>(&self, __x: __V, __p: &[__V; #max_params]) -> __V {
                let _ = __p;
                #fwd_body
                __r0
            }
            #[inline(always)]
            fn derivative_raw_with<__V: #rt::Vector>(&self, __x: __V, __p: &[__V; #max_params]) -> __V {
                let _ = __p;
                #dx_body
                __r0
            }
            #[inline(always)]
            fn second_derivative_raw<__V: #rt::Vector>(&self, __x: __V) -> __V {
                #d2_body
                __r0
            }
            #[inline(always)]
            fn grads_raw_with<__V: #rt::Vector>(
                &self,
                __x: __V,
                __p: &[__V; #max_params],
            ) -> #rt::Grads<__V> {
                let _ = __p;
                #grads_body
                [#( #grad_items ),*]
            }
            #[inline(always)]
            fn forward_checked<__V: #rt::Vector>(&self, __x: __V) -> (__V, <__V as #rt::Vector>::Mask) {
                #fwd_checked
                (__r0, __q0)
            }
            #[inline(always)]
            fn derivative_checked<__V: #rt::Vector>(&self, __x: __V) -> (__V, <__V as #rt::Vector>::Mask) {
                #dx_checked
                (__r0, __q0)
            }
            #from_output_fns
            #[inline(always)]
            fn second_derivative_checked<__V: #rt::Vector>(&self, __x: __V) -> (__V, <__V as #rt::Vector>::Mask) {
                #d2_checked
                (__r0, __q0)
            }
            #[inline(always)]
            fn grads_checked<__V: #rt::Vector>(
                &self,
                __x: __V,
            ) -> (#rt::Grads<__V>, #rt::GradMasks<__V>) {
                #grads_checked
                ([#( #grad_items ),*], [#( #grad_masks ),*])
            }
        }
        // The macro and the runtime size the gradient arrays alike.
        const _: () = ::core::assert!(
            #max_params == #rt::MAX_PARAMS,
            "actigen-macros and actigen disagree on MAX_PARAMS: use matching versions"
        );
    }
}

/// Where a kernel body reads the parameters.
#[derive(Clone, Copy)]
enum Params {
    /// `self.<field>`, splat.
    Fields,
    /// `__p[i]`: vectors the caller passes (a value per lane for per-channel parameters).
    Vectors,
}

/// The "rewritten for numerical stability" section of the docs (empty if none fired).
/// Adds the `names` not yet in `list` to it, in order.
pub(crate) fn add_names(list: &mut Vec<&'static str>, names: Vec<&'static str>) {
    for r in names {
        if !list.contains(&r) {
            list.push(r);
        }
    }
}

fn rewrites_doc(rewrites: &[&'static str]) -> String {
    let mut doc = String::new();
    if !rewrites.is_empty() {
        doc.push_str("\nRewritten for numerical stability:\n");
        for r in rewrites {
            doc.push_str(&format!("- `{}`\n", crate::rewrite::describe(r)));
        }
    }
    doc
}

/// The doc of the generated `new`.
fn new_doc(param_names: &[String]) -> String {
    format!(
        "Creates the activation with the given parameters ({}).",
        if param_names.is_empty() {
            "it has none".to_string()
        } else {
            param_names.join(", ")
        }
    )
}

/// A `Guard` value.
fn guard_tokens(rt: &TokenStream, f: Flags) -> TokenStream {
    let (nan, inf) = (f.nan, f.inf);
    quote!(#rt::Guard { nan: #nan, inf: #inf })
}

/// The parameters' declared ranges, lower and upper ends, as f64 tokens.
fn ranges(model: &Model) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let bound = |v: f64| {
        if v.is_finite() {
            let l = Literal::f64_suffixed(v);
            quote!(#l)
        } else if v > 0.0 {
            quote!(f64::INFINITY)
        } else {
            quote!(f64::NEG_INFINITY)
        }
    };
    model
        .params
        .iter()
        .map(|p| (bound(p.range.0), bound(p.range.1)))
        .unzip()
}

/// The formula traits' `param_at` and `set_param_at`.
fn param_access(model: &Model) -> TokenStream {
    let fields: Vec<_> = model.params.iter().map(|p| &p.ident).collect();
    let idx: Vec<usize> = (0..fields.len()).collect();
    quote! {
        #[allow(clippy::match_single_binding)]
        fn param_at(&self, i: usize) -> f32 {
            match i {
                #( #idx => self.#fields, )*
                _ => panic!("parameter index {} out of range", i),
            }
        }
        #[allow(clippy::match_single_binding)]
        fn set_param_at(&mut self, i: usize, value: f32) {
            match i {
                #( #idx => self.#fields = value, )*
                _ => panic!("parameter index {} out of range ({})", i, value),
            }
        }
    }
}

/// The expansion of a formula of K ≥ 2 inputs: the function, the struct, its
/// `ActivationInfo` and its `MultiFormula<K>` (forward, all partials and the inputs' second
/// partials; no from-output form: the output does not determine the inputs). `partials` holds
/// the inputs' partials, then the parameters'; `second` the second partials ∂²f/∂x_i∂x_j,
/// i ≤ j, row by row.
fn emit_multi(
    model: &Model,
    g: &Graph,
    root: Id,
    (partials, second): (&[Id], &[Id]),
    rewrites: &[&'static str],
) -> TokenStream {
    let rt = rt(&model.krate);
    let name = &model.struct_name;
    let fn_name = &model.func.sig.ident;
    let k = model.inputs.len();
    let inputs: Vec<String> = model.inputs.iter().map(|i| i.to_string()).collect();
    let param_names: Vec<String> = model.params.iter().map(|p| p.ident.to_string()).collect();
    let names = Names {
        inputs: &inputs,
        params: &param_names,
    };
    let fields: Vec<_> = model.params.iter().map(|p| &p.ident).collect();
    let defaults = defaults(model);
    let args = inputs.join(", ");

    let formula = print(g, &names, root);
    let derivs: Vec<String> = partials.iter().map(|&d| print(g, &names, d)).collect();
    let mut doc = format!(
        "\n\nGenerated by `#[activation]` from [`{fn_name}`]: a {k}-input activation with \
         forward, fused backward and parameter-gradient kernels over `f32` and `f64` slices \
         (see `actigen::MultiActivation`).\n\nf({args}) = `{formula}`\n\nDerived:\n"
    );
    for (v, d) in inputs.iter().chain(&param_names).zip(&derivs) {
        doc.push_str(&format!("- ∂f/∂{v} = `{d}`\n"));
    }
    let pairs: Vec<(usize, usize)> = (0..k).flat_map(|i| (i..k).map(move |j| (i, j))).collect();
    let seconds: Vec<String> = second.iter().map(|&d| print(g, &names, d)).collect();
    for (&(i, j), d) in pairs.iter().zip(&seconds) {
        let var = if i == j {
            format!("∂{}²", inputs[i])
        } else {
            format!("∂{}∂{}", inputs[i], inputs[j])
        };
        doc.push_str(&format!("- ∂²f/{var} = `{d}`\n"));
    }
    doc.push_str(&rewrites_doc(rewrites));
    doc.push_str("\nAccuracy not measured at expansion time: the error analysis covers formulas of one input.\n");
    let new_doc = new_doc(&param_names);

    let with_checked = |roots: &[Id], exact: bool, params: Params| {
        let (plain, flags) = body(g, roots, model, exact, false, params);
        let checked = if flags.inf {
            body(g, roots, model, exact, true, Params::Fields).0
        } else {
            // The checked forms read the fields (they have no `__p`).
            let plain = match params {
                Params::Fields => plain.clone(),
                Params::Vectors => body(g, roots, model, exact, false, Params::Fields).0,
            };
            let q = (0..roots.len()).map(|i| format_ident!("__q{}", i));
            quote!(#plain #(let #q = __x.lt(__x);)*)
        };
        (plain, checked, flags)
    };
    // The forward and gradient bodies read the parameters from vectors (`__p`), so per-channel
    // parameters can differ from lane to lane; the others read the fields.
    let (fwd_body, fwd_checked, fwd_flags) = with_checked(&[root], true, Params::Vectors);
    let (grads_body, grads_checked, grads_flags) = with_checked(partials, false, Params::Vectors);
    let (second_body, second_checked, second_flags) = with_checked(second, false, Params::Fields);
    let ir = crate::export::ir_tokens(
        g,
        &crate::export::Roots {
            inputs: k,
            params: model.params.len(),
            forward: root,
            partials,
            second: None,
            seconds: second,
            from_output: None,
        },
        &rt,
    );
    let (gf, gg) = (guard_tokens(&rt, fwd_flags), guard_tokens(&rt, grads_flags));
    let g2 = guard_tokens(&rt, second_flags);

    // `let [__x, __x1, …] = __xs;`: the bodies name input 0 `__x` (also their template for
    // constants), input k `__xk`.
    let xs: Vec<proc_macro2::Ident> = (0..k)
        .map(|i| {
            if i == 0 {
                format_ident!("__x")
            } else {
                format_ident!("__x{}", i)
            }
        })
        .collect();
    let unpack = quote!(#[allow(unused_variables)] let [#(#xs),*] = __xs;);
    let slots = crate::parse::MAX_INPUTS + crate::parse::MAX_PARAMS;
    // The partials fill the first `partials.len()` slots, the second partials the first
    // K(K + 1)/2 ≤ 10; the rest repeat input 0 (and an empty mask).
    let filled = |count: usize, prefix: &str, rest: TokenStream| -> Vec<TokenStream> {
        (0..slots)
            .map(|i| {
                if i < count {
                    let id = format_ident!("{}{}", prefix, i);
                    quote!(#id)
                } else {
                    rest.clone()
                }
            })
            .collect()
    };
    let grad_items = filled(partials.len(), "__r", quote!(__x));
    let grad_masks = filled(partials.len(), "__q", quote!(__x.lt(__x)));
    let second_items = filled(second.len(), "__r", quote!(__x));
    let second_masks = filled(second.len(), "__q", quote!(__x.lt(__x)));
    let struct_def = struct_tokens(model, &doc, &new_doc);
    let (range_lo, range_hi) = ranges(model);
    let access = param_access(model);
    let original = original_fn(model);
    let (max_params, max_inputs) = (crate::parse::MAX_PARAMS, crate::parse::MAX_INPUTS);
    let np = fields.len();
    // `param_vectors`: each parameter splat, then `__x` as filler.
    let param_splats: Vec<TokenStream> = (0..max_params)
        .map(|i| match fields.get(i) {
            Some(f) => quote!(__x.splat(self.#f as f64)),
            None => quote!(__x),
        })
        .collect();
    quote! {
        #original
        #struct_def
        impl #rt::ActivationInfo for #name {
            fn name(&self) -> &'static str {
                <Self as #rt::MultiFormula<#k>>::NAME
            }
            fn input_names(&self) -> ::std::vec::Vec<&'static str> {
                <Self as #rt::MultiFormula<#k>>::INPUT_NAMES.to_vec()
            }
            fn param_names(&self) -> &'static [&'static str] {
                <Self as #rt::MultiFormula<#k>>::PARAM_NAMES
            }
            fn params(&self) -> ::std::vec::Vec<f32> {
                (0..#np).map(|i| <Self as #rt::MultiFormula<#k>>::param_at(self, i)).collect()
            }
            fn param(&self, name: &str) -> ::core::option::Option<f32> {
                let names = <Self as #rt::MultiFormula<#k>>::PARAM_NAMES;
                let i = names.iter().position(|p| *p == name)?;
                ::core::option::Option::Some(<Self as #rt::MultiFormula<#k>>::param_at(self, i))
            }
            fn set_param(&mut self, name: &str, value: f64) -> ::core::result::Result<(), #rt::Error> {
                let (i, v) = #rt::checked_param(
                    <Self as #rt::MultiFormula<#k>>::NAME,
                    <Self as #rt::MultiFormula<#k>>::PARAM_NAMES,
                    <Self as #rt::MultiFormula<#k>>::PARAM_RANGES,
                    name,
                    value,
                )?;
                <Self as #rt::MultiFormula<#k>>::set_param_at(self, i, v);
                ::core::result::Result::Ok(())
            }
        }
        #[allow(clippy::approx_constant, clippy::excessive_precision, clippy::unreadable_literal)]
        impl #rt::MultiFormula<#k> for #name {
            const NAME: &'static str = stringify!(#fn_name);
            const INPUT_NAMES: [&'static str; #k] = [#( #inputs ),*];
            const PARAM_NAMES: &'static [&'static str] = &[#( stringify!(#fields) ),*];
            const PARAM_DEFAULTS: &'static [f32] = &[#( #defaults ),*];
            const PARAM_RANGES: &'static [(f64, f64)] = &[#( (#range_lo, #range_hi) ),*];
            const FORMULA: &'static str = #formula;
            const DERIVATIVES: &'static [&'static str] = &[#( #derivs ),*];
            const SECOND_DERIVATIVES: &'static [&'static str] = &[#( #seconds ),*];
            const IR: #rt::ir::Ir = #ir;
            const GUARDS: #rt::MultiGuards = #rt::MultiGuards {
                forward: #gf,
                grads: #gg,
                second: #g2,
            };
            #access
            #[inline(always)]
            fn param_vectors<__V: #rt::Vector>(&self, __x: __V) -> [__V; #max_params] {
                [#( #param_splats ),*]
            }
            #[inline(always)]
            fn forward_raw_with<__V: #rt::Vector>(&self, __xs: [__V; #k], __p: &[__V; #max_params]) -> __V {
                let _ = __p;
                #unpack
                #fwd_body
                __r0
            }
            #[inline(always)]
            fn grads_raw_with<__V: #rt::Vector>(
                &self,
                __xs: [__V; #k],
                __p: &[__V; #max_params],
            ) -> #rt::MultiGrads<__V> {
                let _ = __p;
                #unpack
                #grads_body
                [#( #grad_items ),*]
            }
            #[inline(always)]
            fn forward_checked<__V: #rt::Vector>(&self, __xs: [__V; #k]) -> (__V, <__V as #rt::Vector>::Mask) {
                #unpack
                #fwd_checked
                (__r0, __q0)
            }
            #[inline(always)]
            fn grads_checked<__V: #rt::Vector>(
                &self,
                __xs: [__V; #k],
            ) -> (#rt::MultiGrads<__V>, #rt::MultiGradMasks<__V>) {
                #unpack
                #grads_checked
                ([#( #grad_items ),*], [#( #grad_masks ),*])
            }
            #[inline(always)]
            fn second_raw<__V: #rt::Vector>(&self, __xs: [__V; #k]) -> #rt::MultiGrads<__V> {
                #unpack
                #second_body
                [#( #second_items ),*]
            }
            #[inline(always)]
            fn second_checked<__V: #rt::Vector>(
                &self,
                __xs: [__V; #k],
            ) -> (#rt::MultiGrads<__V>, #rt::MultiGradMasks<__V>) {
                #unpack
                #second_checked
                ([#( #second_items ),*], [#( #second_masks ),*])
            }
        }
        // The macro and the runtime size the gradient arrays alike.
        const _: () = ::core::assert!(
            #max_params == #rt::MAX_PARAMS && #max_inputs == #rt::MAX_INPUTS,
            "actigen-macros and actigen disagree on MAX_PARAMS or MAX_INPUTS: use matching versions"
        );
    }
}

/// The generated struct (a unit struct without parameters), its `Default` and `new`.
fn struct_tokens(model: &Model, doc: &str, new_doc: &str) -> TokenStream {
    let name = &model.struct_name;
    let vis = &model.func.vis;
    let fields: Vec<_> = model.params.iter().map(|p| &p.ident).collect();
    let defaults = defaults(model);
    let user_docs: Vec<_> = model
        .func
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .collect();
    let field_docs: Vec<String> = model
        .params
        .iter()
        .map(|p| format!("Parameter `{}` (default {}).", p.ident, p.default as f32))
        .collect();
    if fields.is_empty() {
        quote! {
            #(#user_docs)*
            #[doc = #doc]
            #[derive(Clone, Copy, Debug, Default, PartialEq)]
            #vis struct #name;
            impl #name {
                #[doc = #new_doc]
                pub const fn new() -> Self {
                    Self
                }
            }
        }
    } else {
        quote! {
            #(#user_docs)*
            #[doc = #doc]
            #[derive(Clone, Copy, Debug, PartialEq)]
            #vis struct #name {
                #( #[doc = #field_docs] pub #fields: f32, )*
            }
            impl ::core::default::Default for #name {
                fn default() -> Self {
                    Self { #( #fields: #defaults, )* }
                }
            }
            impl #name {
                #[doc = #new_doc]
                pub const fn new(#( #fields: f32 ),*) -> Self {
                    Self { #( #fields ),* }
                }
            }
        }
    }
}

/// The parameters' defaults as f32 literals.
fn defaults(model: &Model) -> Vec<Literal> {
    model
        .params
        .iter()
        .map(|p| Literal::f32_suffixed(p.default as f32))
        .collect()
}

/// `v` as a literal of type `ty` (`f32` or `f64`, `v` exactly representable in it): a suffixed
/// literal when finite, else the type's `INFINITY`, `NEG_INFINITY` or `NAN` (a literal such as
/// `1e39` under `#[allow(overflowing_literals)]` is inf in f32).
pub(crate) fn float_tokens(v: f64, ty: &str) -> TokenStream {
    let ty = format_ident!("{}", ty);
    if v.is_nan() {
        quote!(#ty::NAN)
    } else if v == f64::INFINITY {
        quote!(#ty::INFINITY)
    } else if v == f64::NEG_INFINITY {
        quote!(#ty::NEG_INFINITY)
    } else if ty == "f32" {
        let l = Literal::f32_suffixed(v as f32);
        quote!(#l)
    } else {
        let l = Literal::f64_suffixed(v);
        quote!(#l)
    }
}

/// The statements of a checked body that follow its values: `__b{id}` for each live node that
/// can be unreliable, then `__q{i}` for each root (an all-false mask for a root that is a leaf).
fn tracking(
    g: &Graph,
    live: &[bool],
    fused: &HashMap<Id, Fused>,
    roots: &[Id],
    rt: &TokenStream,
) -> Vec<TokenStream> {
    let t = |id: Id| format_ident!("__t{}", id);
    let b = |id: Id| format_ident!("__b{}", id);
    let mut has = vec![false; g.nodes.len()];
    let mut stmts = Vec::new();
    for id in (0..g.nodes.len()).filter(|&id| live[id]) {
        let node = g.nodes[id];
        let ops = match (fused.get(&id), node) {
            // A shift's correction is taken as 0 where it is not finite: not tracked.
            (Some(&Fused::MulSigmoidShifted(a, u, _) | &Fused::MulErfcShifted(a, u, _)), _) => {
                vec![a, u]
            }
            (None, Node::Shifted(_, u, _)) => vec![u],
            (Some(f), _) => f.operands(),
            (None, _) => crate::ir::children(node),
        };
        let own = {
            let v = t(id);
            quote!(#rt::math::unreliable(#v))
        };
        let parts: Vec<TokenStream> = match (fused.get(&id), node) {
            (_, Node::Const(..) | Node::Named(_) | Node::Input(_) | Node::Param(_)) => vec![],
            (None, Node::Cmp(..) | Node::And(..) | Node::Or(..) | Node::Not(..)) => ops
                .iter()
                .filter(|&&c| has[c])
                .map(|&c| {
                    let bc = b(c);
                    quote!(#bc)
                })
                .collect(),
            (None, Node::Select(m, x, y)) => {
                let tm = t(m);
                let mut parts = vec![own];
                if has[m] {
                    let bm = b(m);
                    parts.push(quote!(#bm));
                }
                if has[x] {
                    let bx = b(x);
                    parts.push(quote!(#tm & #bx));
                }
                if has[y] {
                    let by = b(y);
                    parts.push(quote!(!#tm & #by));
                }
                parts
            }
            _ => std::iter::once(own)
                .chain(ops.iter().filter(|&&c| has[c]).map(|&c| {
                    let bc = b(c);
                    quote!(#bc)
                }))
                .collect(),
        };
        if !parts.is_empty() {
            has[id] = true;
            let name = b(id);
            stmts.push(quote!(let #name = #(#parts)|*;));
        }
    }
    for (i, &r) in roots.iter().enumerate() {
        let q = format_ident!("__q{}", i);
        let value = if has[r] {
            let br = b(r);
            quote!(#br)
        } else {
            quote!(__x.lt(__x))
        };
        stmts.push(quote!(let #q = #value;));
    }
    stmts
}

/// A product emitted as one runtime call instead of its IR operands.
#[derive(Clone, Copy)]
pub(crate) enum Fused {
    /// σ(a)·σ(−a) → `sigmoid_product(a)`: one exponential, no cancellation.
    SigmoidProduct(Id),
    /// a·σ(u)·σ(−u) → `mul_sigmoid_product(a, u)`: rounded once, exact where σ(u)σ(−u) alone
    /// is subnormal (swish′, tanh′).
    MulSigmoidProduct(Id, Id),
    /// a·(b·σ(u)·σ(−u)) → `mul2_sigmoid_product(a, b, u)`: as `MulSigmoidProduct`, with two
    /// factors (swish′'s x·(β·σ′(βx))).
    Mul2SigmoidProduct(Id, Id, Id),
    /// a·σ(u) → `mul_sigmoid(a, u)`: rounded once, exact where σ(u) alone is subnormal.
    MulSigmoid(Id, Id),
    /// a·σ(u) with `a`, `u` linear in x → `linear_mul_sigmoid(a, u)`: as `MulSigmoid`, plus the
    /// limits at x = ±inf, so the body needs no ±inf guard for it.
    LinearMulSigmoid(Id, Id),
    /// a·σ(u + lo) → `mul_sigmoid_shifted(a, u, lo)`: `MulSigmoid` at a compensated argument.
    MulSigmoidShifted(Id, Id, Id),
    /// a·erfc(u) → `mul_erfc(a, u)`: rounded once, exact where erfc(u) alone is subnormal.
    MulErfc(Id, Id),
    /// a·erfc(u + lo) → `mul_erfc_shifted(a, u, lo)`: `MulErfc` at a compensated argument.
    MulErfcShifted(Id, Id, Id),
}

impl Fused {
    pub(crate) fn operands(self) -> Vec<Id> {
        match self {
            Fused::SigmoidProduct(a) => vec![a],
            Fused::MulSigmoid(a, u)
            | Fused::LinearMulSigmoid(a, u)
            | Fused::MulErfc(a, u)
            | Fused::MulSigmoidProduct(a, u) => vec![a, u],
            Fused::MulSigmoidShifted(a, u, lo)
            | Fused::MulErfcShifted(a, u, lo)
            | Fused::Mul2SigmoidProduct(a, u, lo) => vec![a, u, lo],
        }
    }
}

/// The products of `g` to fuse; `a·σ(u)` and `a·erfc(u)` only with `exact_products`.
///
/// Nodes come after their operands, so a product's operands are classified before it: with
/// `g.scaled_products` (the analysis's repair), a product with a σ(u)·σ(−u) found earlier is
/// `MulSigmoidProduct`.
pub(crate) fn fused_products(g: &Graph, exact_products: bool) -> HashMap<Id, Fused> {
    let sigmoid_arg = |id: Id| match g.nodes[id] {
        Node::Unary(Un::Sigmoid, u) => Some(u),
        _ => None,
    };
    let shifted_arg = |id: Id| match g.nodes[id] {
        Node::Shifted(Un::Sigmoid, u, lo) => Some((u, lo)),
        _ => None,
    };
    let mut fused = HashMap::new();
    for (id, node) in g.nodes.iter().enumerate() {
        let Node::Binary(Bin::Mul, a, b) = *node else {
            continue;
        };
        // With `scaled_products`: a·σ′ and a·(b·σ′), b·σ′ classified first.
        let product_arg = |i: Id| match fused.get(&i) {
            Some(&Fused::SigmoidProduct(u)) if g.scaled_products => Some((None, u)),
            Some(&Fused::MulSigmoidProduct(b, u)) => Some((Some(b), u)),
            _ => None,
        };
        let product = match (product_arg(a), product_arg(b)) {
            (_, Some(p)) => Some((a, p)),
            (Some(p), None) => Some((b, p)),
            (None, None) => None,
        };
        match product {
            Some((a, (None, u))) => {
                fused.insert(id, Fused::MulSigmoidProduct(a, u));
                continue;
            }
            Some((a, (Some(b), u))) => {
                fused.insert(id, Fused::Mul2SigmoidProduct(a, b, u));
                continue;
            }
            None => {}
        }
        if exact_products {
            let shifted = match (shifted_arg(a), shifted_arg(b)) {
                (_, Some((u, lo))) => Some((a, u, lo)),
                (Some((u, lo)), _) => Some((b, u, lo)),
                _ => None,
            };
            if let Some((a, u, lo)) = shifted {
                fused.insert(id, Fused::MulSigmoidShifted(a, u, lo));
                continue;
            }
            if let Some(f) = mul_erfc(g, a, b).or_else(|| mul_erfc(g, b, a)) {
                fused.insert(id, f);
                continue;
            }
        }
        match (sigmoid_arg(a), sigmoid_arg(b)) {
            (Some(p), Some(q)) if g.nodes[q] == Node::Unary(Un::Neg, p) => {
                fused.insert(id, Fused::SigmoidProduct(p));
            }
            (Some(p), Some(q)) if g.nodes[p] == Node::Unary(Un::Neg, q) => {
                fused.insert(id, Fused::SigmoidProduct(q));
            }
            (_, Some(u)) if exact_products => {
                fused.insert(id, mul_sigmoid(g, a, u));
            }
            (Some(u), _) if exact_products => {
                fused.insert(id, mul_sigmoid(g, b, u));
            }
            _ => {}
        }
    }
    fused
}

/// `a·erfc(u)` (or at a compensated argument) as a fused product, where `b` is the erfc.
fn mul_erfc(g: &Graph, a: Id, b: Id) -> Option<Fused> {
    match g.nodes[b] {
        Node::Unary(Un::Erfc, u) => Some(Fused::MulErfc(a, u)),
        Node::Shifted(Un::Erfc, u, lo) => Some(Fused::MulErfcShifted(a, u, lo)),
        _ => None,
    }
}

/// `a·σ(u)` as a fused product.
fn mul_sigmoid(g: &Graph, a: Id, u: Id) -> Fused {
    if crate::guards::linear_mul_sigmoid(g, a, u) {
        Fused::LinearMulSigmoid(a, u)
    } else {
        Fused::MulSigmoid(a, u)
    }
}

/// A named constant's value as an `f32` and as an `f64` expression: the path as written, and
/// for `std::f32::consts::*` the `f64` constant of that name (else the `f32` value widened).
pub(crate) fn named_tokens(g: &Graph, i: usize) -> (TokenStream, TokenStream) {
    let text = &g.named[i];
    // Lowering admits only plain paths (identifiers and `::`), which re-parse.
    let p32: TokenStream = text.parse().unwrap_or_default();
    let plain = text.strip_prefix("::").unwrap_or(text);
    let p64: TokenStream = match plain
        .strip_prefix("std::f32::consts::")
        .or_else(|| plain.strip_prefix("core::f32::consts::"))
    {
        Some(c) => {
            let c = format_ident!("{}", c);
            quote!(::core::f64::consts::#c)
        }
        None => quote!((#p32 as f64)),
    };
    (p32, p64)
}

/// Straight-line code computing `roots` into `__r0, __r1, …`, and its guard flags.
///
/// σ(a)·σ(−a) (the derivative of σ, and of tanh) is always emitted as `sigmoid_product`; a
/// product with it, where the analysis chose the `scaled_products` repair, as one rounded
/// `mul_sigmoid_product` (its fast lanes are the product itself, bit for bit; only where
/// σ(a)σ(−a) nears the subnormals is it formed before the scaling). With `exact_products`, `a · σ(u)` is emitted as one rounded `mul_sigmoid` (forward kernels, which
/// must be accurate in ULPs down to subnormal results); gradients, checked to a relative and
/// absolute tolerance, keep the cheaper product.
///
/// With `checked`, the code also computes `__q0, __q1, …`: per root, the lanes where some
/// intermediate it depends on was non-finite or a nonzero subnormal (see
/// `actigen::Formula::forward_checked`). A select counts only the branch it takes.
fn body(
    g: &Graph,
    roots: &[Id],
    model: &Model,
    exact_products: bool,
    checked: bool,
    params: Params,
) -> (TokenStream, Flags) {
    let rt = &rt(&model.krate);
    let fused = fused_products(g, exact_products);
    // Liveness over the operands each node is emitted with.
    let mut live = vec![false; g.nodes.len()];
    for &r in roots {
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
    let t = |id: Id| format_ident!("__t{}", id);
    let mut stmts = Vec::new();
    for (id, _) in live.iter().enumerate().filter(|(_, l)| **l) {
        let span = g.spans[id];
        match fused.get(&id) {
            Some(&Fused::SigmoidProduct(a)) => {
                let (name, a) = (t(id), t(a));
                stmts.push(quote!(let #name = #rt::math::sigmoid_product(#a);));
                continue;
            }
            Some(&Fused::MulSigmoidProduct(a, u)) => {
                let (name, a, u) = (t(id), t(a), t(u));
                stmts.push(quote!(let #name = #rt::math::mul_sigmoid_product(#a, #u);));
                continue;
            }
            Some(&Fused::Mul2SigmoidProduct(a, b, u)) => {
                let (name, a, b, u) = (t(id), t(a), t(b), t(u));
                stmts.push(quote!(let #name = #rt::math::mul2_sigmoid_product(#a, #b, #u);));
                continue;
            }
            Some(&Fused::MulSigmoid(a, u)) => {
                let (name, a, u) = (t(id), t(a), t(u));
                stmts.push(quote!(let #name = #rt::math::mul_sigmoid(#a, #u);));
                continue;
            }
            Some(&Fused::LinearMulSigmoid(a, u)) => {
                let (name, a, u) = (t(id), t(a), t(u));
                stmts.push(quote!(let #name = #rt::math::linear_mul_sigmoid(#a, #u);));
                continue;
            }
            Some(&Fused::MulSigmoidShifted(a, u, lo)) => {
                let (name, a, u, lo) = (t(id), t(a), t(u), t(lo));
                stmts.push(quote!(let #name = #rt::math::mul_sigmoid_shifted(#a, #u, #lo);));
                continue;
            }
            Some(&Fused::MulErfc(a, u)) => {
                let (name, a, u) = (t(id), t(a), t(u));
                stmts.push(quote!(let #name = #rt::math::mul_erfc(#a, #u);));
                continue;
            }
            Some(&Fused::MulErfcShifted(a, u, lo)) => {
                let (name, a, u, lo) = (t(id), t(a), t(u), t(lo));
                stmts.push(quote!(let #name = #rt::math::mul_erfc_shifted(#a, #u, #lo);));
                continue;
            }
            None => {}
        }
        let value = match g.nodes[id] {
            Node::Const(b64, b32) => {
                let (s, d) = (
                    float_tokens(f32::from_bits(b32) as f64, "f32"),
                    float_tokens(f64::from_bits(b64), "f64"),
                );
                quote!(__x.lit(#s, #d))
            }
            Node::Named(i) => {
                let (p32, p64) = named_tokens(g, i);
                quote_spanned!(span=> __x.lit(#p32, #p64))
            }
            Node::Input(0) => quote!(__x),
            Node::Input(k) => {
                let v = format_ident!("__x{}", k);
                quote!(#v)
            }
            Node::Param(i) => match params {
                Params::Fields => {
                    let f = &model.params[i].ident;
                    quote!(__x.splat(self.#f as f64))
                }
                Params::Vectors => quote!(__p[#i]),
            },
            Node::Unary(op, a) => {
                let a = t(a);
                match op {
                    Un::Neg => quote!(-#a),
                    Un::Abs => quote!(#a.abs()),
                    Un::Sqrt => quote!(#a.sqrt()),
                    Un::Exp => quote!(#rt::math::exp(#a)),
                    Un::ExpM1 => quote!(#rt::math::exp_m1(#a)),
                    Un::Ln => quote!(#rt::math::ln(#a)),
                    Un::Ln1p => quote!(#rt::math::ln_1p(#a)),
                    Un::Tanh => quote!(#rt::math::tanh(#a)),
                    Un::Sigmoid => quote!(#rt::math::sigmoid(#a)),
                    Un::Softplus => quote!(#rt::math::softplus(#a)),
                    Un::Sin => quote!(#rt::math::sin(#a)),
                    Un::Cos => quote!(#rt::math::cos(#a)),
                    Un::Erf => quote!(#rt::math::erf(#a)),
                    Un::Erfc => quote!(#rt::math::erfc(#a)),
                }
            }
            Node::Binary(op, a, b) => {
                let (a, b) = (t(a), t(b));
                match op {
                    Bin::Add => quote!(#a + #b),
                    Bin::Sub => quote!(#a - #b),
                    Bin::Mul => quote!(#a * #b),
                    Bin::Div => quote!(#a / #b),
                    Bin::Max => quote!(#rt::math::max_num(#a, #b)),
                    Bin::Min => quote!(#rt::math::min_num(#a, #b)),
                    Bin::Powf => quote!(#rt::math::powf(#a, #b)),
                }
            }
            Node::Powi(a, n) => {
                let a = t(a);
                quote!(#rt::math::powi(#a, #n))
            }
            Node::RoundErr(op, a, b) => {
                let (a, b) = (t(a), t(b));
                match op {
                    Bin::Add => quote!(#rt::math::add_err(#a, #b)),
                    Bin::Sub => quote!(#rt::math::sub_err(#a, #b)),
                    _ => quote!(#rt::math::mul_err(#a, #b)),
                }
            }
            Node::Shifted(op, u, lo) => {
                let (u, lo) = (t(u), t(lo));
                match op {
                    Un::Exp => quote!(#rt::math::exp_shifted(#u, #lo)),
                    Un::Sigmoid => quote!(#rt::math::sigmoid_shifted(#u, #lo)),
                    _ => quote!(#rt::math::erfc_shifted(#u, #lo)),
                }
            }
            Node::Cmp(op, a, b) => {
                let (a, b) = (t(a), t(b));
                match op {
                    Cmp::Lt => quote!(#a.lt(#b)),
                    Cmp::Le => quote!(#a.le(#b)),
                    Cmp::Gt => quote!(#a.gt(#b)),
                    Cmp::Ge => quote!(#a.ge(#b)),
                }
            }
            Node::And(a, b) => {
                let (a, b) = (t(a), t(b));
                quote!(#a & #b)
            }
            Node::Or(a, b) => {
                let (a, b) = (t(a), t(b));
                quote!(#a | #b)
            }
            Node::Not(a) => {
                let a = t(a);
                quote!(!#a)
            }
            Node::Select(m, a, b) => {
                let (m, a, b) = (t(m), t(a), t(b));
                quote!(<__V as #rt::Vector>::select(#m, #a, #b))
            }
        };
        let name = t(id);
        stmts.push(quote!(let #name = #value;));
    }
    if checked {
        stmts.extend(tracking(g, &live, &fused, roots, rt));
    }
    let results = roots.iter().enumerate().map(|(i, &r)| {
        let (ri, tr) = (format_ident!("__r{}", i), t(r));
        quote!(let #ri = #tr;)
    });
    let code = quote! {
        #[allow(unused_imports)]
        use #rt::{Mask as _, Vector as _};
        #(#stmts)*
        #(#results)*
    };
    let absorbing = fused
        .iter()
        .filter_map(|(&id, f)| match *f {
            Fused::LinearMulSigmoid(a, _) => Some((id, a)),
            _ => None,
        })
        .collect();
    (code, flags(g, roots, &absorbing))
}

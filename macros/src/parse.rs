//! Parsing: the attribute's arguments and the function into a [`Model`] that keeps the
//! original tokens (for spans and for re-emitting the function unchanged).
//!
//! Rules checked here, each with its reason:
//! - The leading arguments without `#[default]` (or `#[range]`) are the inputs, one to
//!   `MAX_INPUTS`, each `f32`: formulas are written in f32 (kernels are generated for f32 and
//!   f64 from the same formula). One input gives `actigen::Activation`; two or more give
//!   `actigen::MultiActivation` (a gated unit such as SwiGLU).
//! - Every further argument is a parameter, `f32`, and needs `#[default(value)]`: the generated
//!   struct implements `Default`, and `by_name`-style construction needs a value for each.
//! - At most `MAX_PARAMS` parameters: the runtime's gradient arrays have that many slots.
//! - The return type is `f32`; no generics, `async`, or `self`: the function is a formula.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, FnArg, Ident, ItemFn, Lit, Pat, ReturnType, Token, Type, UnOp};

/// Must match `actigen::formula::MAX_PARAMS` (checked by a `const` assertion in every
/// expansion).
pub const MAX_PARAMS: usize = 7;

/// The most inputs a formula may take. Must match `actigen::formula::MAX_INPUTS` (checked as
/// `MAX_PARAMS` is).
pub const MAX_INPUTS: usize = 4;

/// `#[activation(name = Foo, from_output, strict, crate = path)]`.
#[derive(Default)]
pub struct Args {
    pub name: Option<Ident>,
    /// The path of the runtime crate in the user's crate (serde's `crate = ...` convention):
    /// for a renamed dependency or a re-export. `::actigen` when absent.
    pub krate: Option<syn::Path>,
    /// Require `backward_from_output` (a compile error, with the reason, if f′ cannot be
    /// written in terms of the output).
    pub from_output: bool,
    /// Fail the build where the error analysis finds the f32 kernels of the forward or a first
    /// derivative missing the accuracy targets.
    pub strict: bool,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            // `parse_any`: `crate` is a keyword.
            let key = Ident::parse_any(input)?;
            match key.to_string().as_str() {
                "crate" => {
                    const EXPECTED: &str = "expected `crate = <path>`, the path of the actigen \
                                            crate (for example `crate = ::my_framework::actigen`)";
                    if !input.peek(Token![=]) {
                        return Err(syn::Error::new(key.span(), EXPECTED));
                    }
                    input.parse::<Token![=]>()?;
                    // A path, or serde's form: the path in a string literal.
                    let path = if input.peek(syn::LitStr) {
                        let lit: syn::LitStr = input.parse()?;
                        lit.parse_with(syn::Path::parse_mod_style)
                            .map_err(|_| syn::Error::new(lit.span(), EXPECTED))?
                    } else {
                        syn::Path::parse_mod_style(input)
                            .map_err(|e| syn::Error::new(e.span(), EXPECTED))?
                    };
                    if args.krate.is_some() {
                        return Err(syn::Error::new(
                            key.span(),
                            "duplicate `crate` argument: give the crate one path",
                        ));
                    }
                    args.krate = Some(path);
                }
                "name" => {
                    if !input.peek(Token![=]) {
                        return Err(syn::Error::new(
                            key.span(),
                            "expected `name = <Identifier>`, found `name` without a value",
                        ));
                    }
                    input.parse::<Token![=]>()?;
                    let name: Ident = input
                        .parse()
                        .map_err(|e| syn::Error::new(e.span(), "expected `name = <Identifier>`"))?;
                    if args.name.is_some() {
                        return Err(syn::Error::new(
                            key.span(),
                            "duplicate `name` argument: give the struct one name",
                        ));
                    }
                    args.name = Some(name);
                }
                "from_output" => {
                    if args.from_output {
                        return Err(syn::Error::new(
                            key.span(),
                            "duplicate `from_output` argument",
                        ));
                    }
                    args.from_output = true;
                }
                "strict" => {
                    if args.strict {
                        return Err(syn::Error::new(key.span(), "duplicate `strict` argument"));
                    }
                    args.strict = true;
                }
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown argument `{other}`; expected `name = <Identifier>`, `from_output`, \
                             `strict` or `crate = <path>`"
                        ),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// A parameter of the formula.
pub struct Param {
    pub ident: Ident,
    pub default: f64,
    /// `#[range(lo..hi)]`, either end open (±inf when absent).
    pub range: (f64, f64),
}

/// The parsed formula.
pub struct Model {
    /// The function with the `#[default]` attributes removed: re-emitted as the scalar reference.
    pub func: ItemFn,
    /// `#[activation(from_output)]` was given.
    pub require_from_output: bool,
    /// `#[activation(strict)]` was given.
    pub strict: bool,
    /// The inputs, in order (at least one: a placeholder `x` after an error).
    pub inputs: Vec<Ident>,
    pub params: Vec<Param>,
    pub struct_name: Ident,
    /// The path generated code names the runtime by (`crate = ...`, else `::actigen`).
    pub krate: TokenStream,
}

fn is_f32(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("f32"))
}

/// A float literal, possibly negated.
fn float_literal(e: &Expr) -> Option<f64> {
    match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Float(f) => f.base10_parse().ok(),
            _ => None,
        },
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => float_literal(&u.expr).map(|v| -v),
        _ => None,
    }
}

/// `UpperCamelCase` of a snake_case name.
fn camel(name: &str) -> String {
    name.split('_')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The generated struct's name: the function's name (raw or not) in UpperCamelCase. A name
/// that gives no identifier that way (`_`, `_1x`, `self_`) is an error asking for
/// `#[activation(name = …)]`, with a placeholder so that expansion goes on.
fn struct_name_for(f: &Ident, errors: &mut Vec<syn::Error>) -> Ident {
    let base = f.unraw().to_string();
    let name = camel(&base);
    match syn::parse_str::<Ident>(&name) {
        Ok(mut ident) => {
            ident.set_span(f.span());
            ident
        }
        Err(_) => {
            let found = if name.is_empty() {
                "nothing".to_string()
            } else {
                format!("`{name}`")
            };
            errors.push(syn::Error::new(
                f.span(),
                format!(
                    "cannot name the struct after `{base}`: in UpperCamelCase it is {found}, \
                     not an identifier; name it with `#[activation(name = <StructName>)]`"
                ),
            ));
            Ident::new("UnnamedActivation", f.span())
        }
    }
}

/// Parses the function; problems go to `errors` (all of them, not just the first).
pub fn parse(args: Args, mut func: ItemFn, errors: &mut Vec<syn::Error>) -> Model {
    let sig = &func.sig;
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new(
            sig.generics.span(),
            "a formula cannot be generic: it is written in f32",
        ));
    }
    if let Some(a) = &sig.asyncness {
        errors.push(syn::Error::new(a.span(), "a formula cannot be `async`"));
    }
    match &sig.output {
        ReturnType::Type(_, ty) if is_f32(ty) => {}
        ReturnType::Type(_, ty) => errors.push(syn::Error::new(
            ty.span(),
            "expected `f32` as the return type",
        )),
        ReturnType::Default => errors.push(syn::Error::new(
            sig.ident.span(),
            "expected `-> f32`: a formula returns its value",
        )),
    }

    let mut inputs = Vec::new();
    let mut params = Vec::new();
    for arg in func.sig.inputs.iter_mut() {
        let FnArg::Typed(pt) = arg else {
            errors.push(syn::Error::new(
                arg.span(),
                "a formula takes no `self`: expected `x: f32`",
            ));
            continue;
        };
        if !is_f32(&pt.ty) {
            errors.push(syn::Error::new(
                pt.ty.span(),
                "expected `f32`: formulas are written in f32 (kernels are generated for f32 and f64)",
            ));
        }
        let ident = match &*pt.pat {
            Pat::Ident(p) if p.mutability.is_none() && p.by_ref.is_none() => p.ident.clone(),
            other => {
                errors.push(syn::Error::new(other.span(), "expected a plain name"));
                continue;
            }
        };
        let mut default = None;
        let mut range = (f64::NEG_INFINITY, f64::INFINITY);
        let mut kept = Vec::new();
        // Inputs come first: the leading arguments with neither `#[default]` nor `#[range]`.
        let is_param = !params.is_empty()
            || pt
                .attrs
                .iter()
                .any(|a| a.path().is_ident("default") || a.path().is_ident("range"));
        let attrs: Vec<syn::Attribute> = pt.attrs.drain(..).collect();
        for attr in attrs {
            if attr.path().is_ident("range") {
                match attr.parse_args::<Expr>() {
                    Ok(Expr::Range(r)) if matches!(r.limits, syn::RangeLimits::HalfOpen(_)) => {
                        let bound = |e: &Option<Box<Expr>>, open: f64, errors: &mut Vec<syn::Error>| {
                            match e {
                                None => open,
                                Some(e) => float_literal(e).unwrap_or_else(|| {
                                    errors.push(syn::Error::new(
                                        e.span(),
                                        "expected a float literal bound, such as `#[range(0.0..)]`",
                                    ));
                                    open
                                }),
                            }
                        };
                        range = (
                            bound(&r.start, f64::NEG_INFINITY, errors),
                            bound(&r.end, f64::INFINITY, errors),
                        );
                        if range.0 >= range.1 {
                            errors.push(syn::Error::new(
                                r.span(),
                                format!(
                                    "empty range: the lower end {} is not below the upper end {}",
                                    range.0, range.1
                                ),
                            ));
                        }
                    }
                    Ok(other) => errors.push(syn::Error::new(
                        other.span(),
                        "expected a half-open range such as `#[range(0.0..)]` or `#[range(0.0..1.0)]`",
                    )),
                    Err(e) => errors.push(e),
                }
            } else if attr.path().is_ident("default") {
                match attr.parse_args::<Expr>() {
                    Ok(e) => match float_literal(&e) {
                        Some(v) if (v as f32).is_finite() => default = Some(v),
                        _ => errors.push(syn::Error::new(
                            e.span(),
                            "expected a finite float literal, such as `#[default(1.0)]`",
                        )),
                    },
                    Err(e) => errors.push(e),
                }
            } else {
                kept.push(attr);
            }
        }
        pt.attrs = kept;
        if !is_param {
            if inputs.len() == MAX_INPUTS {
                errors.push(syn::Error::new(
                    ident.span(),
                    format!(
                        "at most {MAX_INPUTS} inputs are supported; a parameter needs a default: \
                         `#[default(1.0)] {ident}: f32`"
                    ),
                ));
            }
            inputs.push(ident);
            continue;
        }
        if let Some(d) = default
            && range.0 < range.1
            && !(range.0 <= d && d < range.1)
        {
            errors.push(syn::Error::new(
                ident.span(),
                format!("the default {d} of `{ident}` is outside its range"),
            ));
        }
        match default {
            Some(default) => params.push(Param {
                ident,
                default,
                range,
            }),
            None => {
                errors.push(syn::Error::new(
                    ident.span(),
                    format!("parameter `{ident}` needs a default: `#[default(1.0)] {ident}: f32`"),
                ));
                params.push(Param {
                    ident,
                    default: 0.0,
                    range,
                });
            }
        }
    }
    if params.len() > MAX_PARAMS {
        errors.push(syn::Error::new(
            params[MAX_PARAMS].ident.span(),
            format!("at most {MAX_PARAMS} parameters are supported"),
        ));
    }
    if inputs.is_empty() {
        errors.push(syn::Error::new(
            func.sig.paren_token.span.join(),
            "expected the input as the first argument: `x: f32` (an argument with \
             `#[default]` or `#[range]` is a parameter)",
        ));
        inputs.push(Ident::new("x", func.sig.ident.span()));
    }
    let struct_name = args
        .name
        .unwrap_or_else(|| struct_name_for(&func.sig.ident, errors));
    if params.is_empty() && struct_name.unraw() == func.sig.ident.unraw() {
        errors.push(syn::Error::new(
            struct_name.span(),
            format!(
                "the struct `{struct_name}` would have the function's name: a struct without \
                 parameters is also a value, so the two collide; name it with \
                 `#[activation(name = <OtherName>)]`"
            ),
        ));
    }
    Model {
        func,
        require_from_output: args.from_output,
        strict: args.strict,
        inputs,
        params,
        struct_name,
        krate: match args.krate {
            Some(path) => quote::quote!(#path),
            None => quote::quote!(::actigen),
        },
    }
}

/// Parses the attribute arguments.
pub fn parse_args(attr: TokenStream) -> syn::Result<Args> {
    syn::parse2(attr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn krate(attr: TokenStream) -> Result<Option<String>, String> {
        parse_args(attr)
            .map(|a| a.krate.map(|p| quote!(#p).to_string()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn crate_argument_takes_a_path_or_a_string_holding_one() {
        assert_eq!(krate(quote!()), Ok(None));
        assert_eq!(krate(quote!(crate = crate)), Ok(Some("crate".into())));
        let want = Some(":: fw :: actigen".to_string());
        assert_eq!(krate(quote!(crate = ::fw::actigen)), Ok(want.clone()));
        assert_eq!(krate(quote!(crate = "::fw::actigen")), Ok(want.clone()));
        assert_eq!(
            krate(quote!(from_output, crate = ::fw::actigen, name = Foo)),
            Ok(want)
        );
        let errors = [
            (quote!(crate), "expected `crate = <path>`"),
            (quote!(crate = 1), "expected `crate = <path>`"),
            (quote!(crate = "not a path"), "expected `crate = <path>`"),
            (quote!(crate = a, crate = b), "duplicate `crate` argument"),
        ];
        for (attr, want) in errors {
            let got = krate(attr.clone()).expect_err(&attr.to_string());
            assert!(got.contains(want), "{attr}: {got}");
        }
    }
}

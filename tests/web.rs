//! The browser glue in a real headless Chromium (wasm-bindgen-test).
#![cfg(target_arch = "wasm32")]

use microfunnel::dom::Element;
use microfunnel::host::Host;
use microfunnel::json::Value;
use microfunnel::web::testing::{browser_host, dom_element, to_value};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn fixture(html: &str) -> web_sys::Element {
    let document = web_sys::window().unwrap().document().unwrap();
    let root = document.create_element("div").unwrap();
    root.set_inner_html(html);
    document.body().unwrap().append_child(&root).unwrap();
    root
}

#[wasm_bindgen_test]
fn click_on_svg_inside_button_resolves_to_the_button() {
    let root = fixture(
        r#"<a data-cta href="/product.html" id="hero"><span>Shop <svg><path id="p"/></svg></span></a>"#,
    );
    let path = root.query_selector("#p").unwrap().unwrap();
    let target = dom_element(path);
    let cta = target.closest("[data-cta]").expect("closest finds the link");
    assert_eq!(cta.tag(), "a");
    assert_eq!(cta.attr("id").as_deref(), Some("hero"));
    let url = cta.url().unwrap();
    assert!(url.starts_with("http") && url.ends_with("/product.html"), "{url}");
}

#[wasm_bindgen_test]
fn invalid_selectors_are_reported_invalid_and_never_throw() {
    let host = browser_host();
    assert!(host.selector_is_valid("[data-cta], .btn-primary"));
    assert!(!host.selector_is_valid("!!"));
    assert!(!host.selector_is_valid("div >"));
    assert!(!host.selector_is_valid(""));
    let root = fixture("<button>b</button>");
    let button = dom_element(root.first_element_child().unwrap());
    assert!(button.closest("!!").is_none());
    assert!(!button.matches("::nonsense("));
}

#[wasm_bindgen_test]
fn regexes_use_the_browser_engine_and_bad_ones_do_not_throw() {
    let host = browser_host();
    assert!(host.regex_find("^/(index\\.html)?$", false, "/"));
    assert!(host.regex_find("CHECKOUT", true, "go to checkout"));
    assert!(host.regex_find("(?<=a)b", false, "ab"), "look-behind works in the page");
    assert!(!host.regex_is_valid("(", false));
    assert!(!host.regex_find("(", false, "("));
}

#[wasm_bindgen_test]
fn lowercase_follows_unicode_rules() {
    assert_eq!(browser_host().lowercase("ÉTÉ Checkout"), "été checkout");
}

#[wasm_bindgen_test]
fn pushed_objects_convert_without_prototypes_functions_or_endless_cycles() {
    let object: js_sys::Object = js_sys::JSON::parse(
        r#"{"event":"add_to_cart","value":129,"items":[{"id":"t2"}],"ok":true,"none":null}"#,
    )
    .unwrap()
    .unchecked_into();
    let cyclic = js_sys::Object::new();
    js_sys::Reflect::set(&cyclic, &"self".into(), &cyclic).unwrap();
    js_sys::Reflect::set(&object, &"cycle".into(), &cyclic).unwrap();
    let f = js_sys::Function::new_no_args("return 1");
    js_sys::Reflect::set(&object, &"fn".into(), &f).unwrap();
    let value = to_value(&object);
    assert_eq!(value.get("event"), Some(&Value::from("add_to_cart")));
    assert_eq!(value.get("value"), Some(&Value::Num(129.0)));
    assert_eq!(value.path("items.0.id"), Some(&Value::from("t2")));
    assert_eq!(value.get("fn"), Some(&Value::Null));
    // The cycle is cut at the depth limit instead of recursing for ever.
    let mut depth = 0;
    let mut here = value.get("cycle");
    while let Some(v @ Value::Obj(_)) = here {
        depth += 1;
        here = v.get("self");
    }
    assert!((5..=10).contains(&depth), "cut at depth {depth}");
}

fn nodes(value: &Value) -> usize {
    1 + match value {
        Value::Arr(items) => items.iter().map(nodes).sum(),
        Value::Obj(pairs) => pairs.iter().map(|(_, v)| nodes(v)).sum(),
        _ => 0,
    }
}

#[wasm_bindgen_test]
fn an_object_referring_to_itself_many_times_converts_within_a_node_budget() {
    // With three self-references a walk without a budget visits 3^depth nodes and hangs the
    // page; the budget cuts it at a few thousand.
    let object = js_sys::Object::new();
    for key in ["a", "b", "c", "d"] {
        js_sys::Reflect::set(&object, &key.into(), &object).unwrap();
    }
    let value = to_value(&object);
    let n = nodes(&value);
    assert!((1000..=2100).contains(&n), "{n} nodes");
}

// throwaway: fetch pages from a urls file sequentially with reqwest
use std::time::Instant;
#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let urls: Vec<String> = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap().lines().map(String::from).collect();
    let mode = std::env::args().nth(2).unwrap_or_default();
    let c = reqwest::Client::builder().build().unwrap();
    let t = Instant::now();
    let mut total = 0;
    for u in &urls {
        let r = c.get(u).send().await.unwrap();
        if mode == "chunk" {
            let mut r = r;
            while let Some(ch) = r.chunk().await.unwrap() { total += ch.len(); }
        } else {
            let b = r.bytes().await.unwrap();
            let v: Vec<u8> = b.into();
            total += v.len();
        }
    }
    eprintln!("{} bytes in {:.3}s", total, t.elapsed().as_secs_f64());
}

// Command llem measures the energy, time and tokens of LLM inference.
package main

func main() {}
